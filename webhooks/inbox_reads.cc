// Stripe inbox reads (webhooks/inbox_reads.h).
#include "webhooks/inbox_reads.h"

#include <cassert>

#include <rapidjson/document.h>

#include "ledger/store.h"
#include "webhooks/delivery_body.h"
#include "webhooks/json_reader.h"
#include "webhooks/stripe_inbox.h"

namespace webhooks {
namespace {

std::vector<StoredDelivery> parse(const pg::Result& rows, bool with_bodies) {
  std::vector<StoredDelivery> deliveries;
  deliveries.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    StoredDelivery delivery{rows.string(i, 0), rows.string(i, 1), rows.string(i, 2), "", false};
    if (with_bodies) {
      std::optional<std::string> body =
          open_stored_body(rows, i, 3, kStripeProvider, delivery.event_id);
      delivery.erased = !body.has_value();
      delivery.raw_body = std::move(body).value_or("");
    }
    deliveries.push_back(std::move(delivery));
  }
  return deliveries;
}

}  // namespace

std::vector<StoredDelivery> read_processed(pg::Connection& connection, const std::string& after,
                                           int64_t limit) {
  assert(limit > 0);
  return parse(connection.exec(
                   {"inbox_read_processed",
                    "SELECT d.provider_event_id, d.event_type, coalesce(p.account_id, '')"
                    " FROM webhook_processing p"
                    " JOIN webhook_deliveries d USING (provider, provider_event_id)"
                    " WHERE p.provider = $1 AND p.status = 'processed'"
                    " AND p.provider_event_id > $2 ORDER BY p.provider_event_id LIMIT $3",
                    {std::string(kStripeProvider), after, std::to_string(limit)}}),
               false);
}

std::vector<StoredDelivery> read_applied_invoices(pg::Connection& connection,
                                                  const std::string& after, int64_t limit) {
  assert(limit > 0);
  return parse(connection.exec(
                   {"inbox_read_applied_invoices",
                    std::string("SELECT d.provider_event_id, d.event_type,"
                                " coalesce(p.account_id, ''), ") +
                        kBodyColumns +
                        " FROM webhook_processing p JOIN webhook_deliveries d"
                        " ON d.provider = p.provider AND d.provider_event_id = p.provider_event_id" +
                        kBodyKeyJoin +
                        " WHERE p.provider = $1 AND p.status = 'processed'"
                        " AND d.event_type = 'invoice.paid' AND coalesce(p.note, '') <> 'superseded'"
                        " AND p.provider_event_id > $2 ORDER BY p.provider_event_id LIMIT $3",
                    {std::string(kStripeProvider), after, std::to_string(limit)}}),
               true);
}

std::optional<int64_t> read_deliveries_pruned_before_us(pg::Connection& connection) {
  const pg::Result rows = connection.exec(
      {"inbox_pruned_before",
       "SELECT (extract(epoch from pruned_before) * 1000000)::bigint FROM retention_horizons"
       " WHERE subject = 'webhook_deliveries'",
       {}});
  if (rows.rows() == 0) return std::nullopt;
  return rows.int64(0, 0);
}

std::optional<std::string> read_customer_email(
    pg::Connection& connection, const std::string& account_id,
    const std::function<bool(std::string_view)>& usable) {
  // Stripe's events of the account, and the shop object Shopify sends with shop/update and
  // app/uninstalled (the owner's address; never a customer's from the compliance topics).
  const pg::Result rows = connection.exec(
      {"inbox_read_customer_email",
       std::string("SELECT d.provider, d.provider_event_id, ") + kBodyColumns +
           " FROM webhook_processing p JOIN webhook_deliveries d"
           " ON d.provider = p.provider AND d.provider_event_id = p.provider_event_id" +
           kBodyKeyJoin +
           " WHERE p.account_id = $1 AND (p.provider = $2 OR (p.provider = $4"
           " AND d.event_type IN ('shop/update', 'app/uninstalled')))"
           " ORDER BY d.received_at DESC, d.provider_event_id DESC LIMIT $3",
       {account_id, std::string(kStripeProvider), std::to_string(kCustomerEmailDeliveriesMax),
        std::string(kShopifyProvider)}});
  for (int i = 0; i < rows.rows(); ++i) {
    const std::string provider = rows.string(i, 0);
    const std::optional<std::string> body =
        open_stored_body(rows, i, 2, provider, rows.text(i, 1));
    if (!body) continue;  // erased
    rapidjson::Document document;
    if (!parse_bounded_json(*body, document).empty() || !document.IsObject()) continue;
    JsonFieldReader event(document, "event", JsonFieldReader::Mode::kLenient);
    const bool shop = provider == kShopifyProvider;
    for (const char* path : {shop ? "email" : "data.object.customer_email",
                             shop ? "customer_email" : "data.object.customer_details.email"}) {
      std::string email = event.string(path);
      if (!email.empty() && usable(email)) return email;
    }
  }
  return std::nullopt;
}

bool deliveries_guarded(pg::Connection& connection) {
  return ledger::enabled_trigger_count(connection, "webhook_deliveries") >= 2;
}

}  // namespace webhooks
