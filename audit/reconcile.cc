// Stripe reconciliation (audit/reconcile.h).
#include "audit/reconcile.h"

#include <rapidjson/document.h>

#include <cassert>
#include <map>
#include <utility>

#include "ledger/billing_rules.h"
#include "ledger/events.h"
#include "webhooks/stripe_billing.h"
#include "webhooks/stripe_event.h"

namespace audit {
namespace {

constexpr int64_t kPageSize = 1'000;
constexpr const char* kAllowanceReason = "plan allowance";
constexpr const char* kUpgradeReason = "plan upgrade";

using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

struct ProcessedDelivery {
  std::string type;
  std::string account_id;
};

// (account, period key) -> number of allowance grants.
using AllowanceCounts = std::map<std::pair<std::string, std::string>, int64_t>;

void mismatch(ReconcileReport& report, int64_t& counter, std::string problem,
              const std::string& account_id, std::string reference) {
  ++counter;
  if (!report.clean) return;
  report.clean = false;
  report.problem = std::move(problem);
  report.account_id = account_id;
  report.reference = std::move(reference);
}

// Every processed Stripe delivery: event id -> (type, account).
std::map<std::string, ProcessedDelivery> load_processed(Snapshot& work) {
  std::map<std::string, ProcessedDelivery> processed;
  std::string after;
  for (;;) {
    const pqxx::result rows = work.exec_params(
        "SELECT d.provider_event_id, d.event_type, coalesce(p.account_id, '')"
        " FROM webhook_processing p JOIN webhook_deliveries d USING (provider, provider_event_id)"
        " WHERE p.provider = 'stripe' AND p.status = 'processed' AND p.provider_event_id > $1"
        " ORDER BY p.provider_event_id LIMIT $2",
        after, kPageSize);
    for (const pqxx::row& row : rows) {
      after = row[0].as<std::string>();
      processed[after] = {row[1].as<std::string>(), row[2].as<std::string>()};
    }
    if (rows.size() < static_cast<std::size_t>(kPageSize)) return processed;
  }
}

std::string causation_id(const std::string& metadata_json) {
  rapidjson::Document document;
  document.Parse(metadata_json.data(), metadata_json.size());
  if (document.HasParseError() || !document.IsObject()) return {};
  const auto member = document.FindMember("causation_id");
  if (member == document.MemberEnd() || !member->value.IsString()) return {};
  return member->value.GetString();
}

bool produces(const std::string& delivery_type, const std::string& reason) {
  if (reason == kAllowanceReason) {
    return delivery_type == "checkout.session.completed" || delivery_type == "invoice.paid" ||
           delivery_type == "customer.subscription.deleted";
  }
  if (reason == kUpgradeReason) return delivery_type == "customer.subscription.updated";
  return false;
}

// Checks one Stripe grant against the deliveries and counts allowance grants per period.
void check_grant(const pqxx::row& row, const std::map<std::string, ProcessedDelivery>& processed,
                 AllowanceCounts& allowances, ReconcileReport& report) {
  const std::string account_id = row[0].as<std::string>();
  const std::string reference = "version " + row[1].as<std::string>();
  ++report.grants_checked;
  const auto body = ledger::decode_event("CreditsGranted", row[2].as<std::string>());
  const auto* grant = body ? std::get_if<ledger::CreditsGranted>(&*body) : nullptr;
  if (grant == nullptr) {
    mismatch(report, report.grants_without_delivery, "Stripe grant does not decode", account_id,
             reference);
    return;
  }
  const std::string event_id = causation_id(row[3].as<std::string>());
  const auto delivery = processed.find(event_id);
  if (delivery == processed.end() || delivery->second.account_id != account_id ||
      !produces(delivery->second.type, grant->reason)) {
    mismatch(report, report.grants_without_delivery,
             "Stripe grant (" + grant->reason + ", period " + grant->period_key +
                 ") traces to no processed delivery that produces it (causation " + event_id + ")",
             account_id, reference);
    return;
  }
  if (grant->reason != kAllowanceReason) return;
  if (++allowances[{account_id, grant->period_key}] == 2) {
    mismatch(report, report.periods_granted_twice,
             "period " + grant->period_key + " received a second allowance grant", account_id,
             reference);
  }
}

AllowanceCounts check_grants(Snapshot& work,
                             const std::map<std::string, ProcessedDelivery>& processed,
                             ReconcileReport& report) {
  AllowanceCounts allowances;
  std::string after_stream;
  int64_t after_version = 0;
  for (;;) {
    const pqxx::result rows = work.exec_params(
        "SELECT stream_id, stream_version, payload::text, metadata::text FROM ledger_events"
        " WHERE event_type = 'CreditsGranted' AND payload->>'source' = 'stripe'"
        " AND (stream_id, stream_version) > ($1::text, $2::bigint)"
        " ORDER BY stream_id, stream_version LIMIT $3",
        after_stream, after_version, kPageSize);
    for (const pqxx::row& row : rows) {
      after_stream = row[0].as<std::string>();
      after_version = row[1].as<int64_t>();
      check_grant(row, processed, allowances, report);
    }
    if (rows.size() < static_cast<std::size_t>(kPageSize)) return allowances;
  }
}

// Every applied invoice.paid delivery has exactly one allowance grant for its period.
void check_invoices(Snapshot& work, const AllowanceCounts& allowances, ReconcileReport& report) {
  std::string after;
  for (;;) {
    const pqxx::result rows = work.exec_params(
        "SELECT d.provider_event_id, d.raw_body, coalesce(p.account_id, '')"
        " FROM webhook_processing p JOIN webhook_deliveries d USING (provider, provider_event_id)"
        " WHERE p.provider = 'stripe' AND p.status = 'processed' AND d.event_type = 'invoice.paid'"
        " AND coalesce(p.note, '') <> 'superseded' AND p.provider_event_id > $1"
        " ORDER BY p.provider_event_id LIMIT $2",
        after, kPageSize);
    for (const pqxx::row& row : rows) {
      after = row[0].as<std::string>();
      const std::string account_id = row[2].as<std::string>();
      ++report.invoices_checked;
      const auto parsed = webhooks::parse_stripe_event(pqxx::binarystring(row[1]).str());
      const auto* event = std::get_if<webhooks::StripeEvent>(&parsed);
      if (event == nullptr || !event->invoice) {
        mismatch(report, report.invoices_without_grant, "processed invoice does not parse",
                 account_id, after);
        continue;
      }
      const std::string period_key =
          ledger::invoice_period_key(webhooks::map_stripe_event(*event).event);
      const auto found = allowances.find({account_id, period_key});
      const int64_t grants = found == allowances.end() ? 0 : found->second;
      if (grants == 0) {
        mismatch(report, report.invoices_without_grant,
                 "paid invoice has no allowance grant for period " + period_key, account_id, after);
      } else if (grants > 1) {
        mismatch(report, report.invoices_with_extra_grants,
                 "paid invoice has " + std::to_string(grants) + " allowance grants for period " +
                     period_key,
                 account_id, after);
      }
    }
    if (rows.size() < static_cast<std::size_t>(kPageSize)) return;
  }
}

}  // namespace

ReconcileReport reconcile_stripe(pqxx::connection& connection) {
  ReconcileReport report;
  Snapshot work(connection, "reconcile");
  const std::map<std::string, ProcessedDelivery> processed = load_processed(work);
  const AllowanceCounts allowances = check_grants(work, processed, report);
  check_invoices(work, allowances, report);
  work.commit();
  assert(report.clean == (report.invoices_without_grant + report.invoices_with_extra_grants +
                              report.grants_without_delivery + report.periods_granted_twice ==
                          0));
  return report;
}

}  // namespace audit
