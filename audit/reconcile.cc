// Stripe reconciliation (audit/reconcile.h).
#include "audit/reconcile.h"

#include <rapidjson/document.h>

#include <cassert>
#include <climits>
#include <map>
#include <utility>

#include "ledger/billing_rules.h"
#include "ledger/events.h"
#include "ledger/store.h"
#include "webhooks/inbox_reads.h"
#include "webhooks/stripe_billing.h"
#include "webhooks/stripe_event.h"

namespace audit {
namespace {

constexpr int64_t kPageSize = 1'000;

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
std::map<std::string, ProcessedDelivery> load_processed(pg::Connection& connection) {
  std::map<std::string, ProcessedDelivery> processed;
  std::string after;
  for (;;) {
    const auto page = webhooks::read_processed(connection, after, kPageSize);
    for (const webhooks::StoredDelivery& delivery : page) {
      after = delivery.event_id;
      processed[after] = {delivery.event_type, delivery.account_id};
    }
    if (static_cast<int64_t>(page.size()) < kPageSize) return processed;
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
  if (reason == ledger::kAllowanceGrantReason) {
    return delivery_type == "checkout.session.completed" || delivery_type == "invoice.paid" ||
           delivery_type == "customer.subscription.deleted";
  }
  if (reason == ledger::kUpgradeGrantReason)
    return delivery_type == "customer.subscription.updated";
  return false;
}

// Checks one Stripe grant against the deliveries and counts allowance grants per period. A
// grant recorded before the inbox's prune horizon may have lost its delivery to retention:
// it still counts for its period, but needs no delivery.
void check_grant(const ledger::StoredEvent& event,
                 const std::map<std::string, ProcessedDelivery>& processed,
                 int64_t pruned_before_us, AllowanceCounts& allowances, ReconcileReport& report) {
  const std::string& account_id = event.stream_id;
  const std::string reference = "version " + std::to_string(event.stream_version);
  ++report.grants_checked;
  const auto body = ledger::decode_event("CreditsGranted", event.payload);
  const auto* grant = body ? std::get_if<ledger::CreditsGranted>(&*body) : nullptr;
  if (grant == nullptr) {
    mismatch(report, report.grants_without_delivery, "Stripe grant does not decode", account_id,
             reference);
    return;
  }
  const std::string event_id = causation_id(event.metadata);
  const auto delivery = processed.find(event_id);
  const bool traced = delivery != processed.end() && delivery->second.account_id == account_id &&
                      produces(delivery->second.type, grant->reason);
  if (!traced && event.recorded_at_us >= pruned_before_us) {
    mismatch(report, report.grants_without_delivery,
             "Stripe grant (" + grant->reason + ", period " + grant->period_key +
                 ") traces to no processed delivery that produces it (causation " + event_id + ")",
             account_id, reference);
    return;
  }
  if (grant->reason != ledger::kAllowanceGrantReason) return;
  if (++allowances[{account_id, grant->period_key}] == 2) {
    mismatch(report, report.periods_granted_twice,
             "period " + grant->period_key + " received a second allowance grant", account_id,
             reference);
  }
}

AllowanceCounts check_grants(pg::Connection& connection,
                             const std::map<std::string, ProcessedDelivery>& processed,
                             int64_t pruned_before_us, ReconcileReport& report) {
  AllowanceCounts allowances;
  std::string after_stream;
  int64_t after_version = 0;
  for (;;) {
    const auto page =
        ledger::read_grants_from(connection, "stripe", after_stream, after_version, kPageSize);
    for (const ledger::StoredEvent& event : page) {
      after_stream = event.stream_id;
      after_version = event.stream_version;
      check_grant(event, processed, pruned_before_us, allowances, report);
    }
    if (static_cast<int64_t>(page.size()) < kPageSize) return allowances;
  }
}

// Every applied invoice.paid delivery has exactly one allowance grant for its period.
void check_invoices(pg::Connection& connection, const AllowanceCounts& allowances,
                    ReconcileReport& report) {
  std::string after;
  for (;;) {
    const auto page = webhooks::read_applied_invoices(connection, after, kPageSize);
    for (const webhooks::StoredDelivery& invoice : page) {
      after = invoice.event_id;
      const std::string& account_id = invoice.account_id;
      if (invoice.erased) {
        ++report.invoices_erased;  // its period cannot be read any more
        continue;
      }
      ++report.invoices_checked;
      const auto parsed = webhooks::parse_stripe_event(invoice.raw_body);
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
    if (static_cast<int64_t>(page.size()) < kPageSize) return;
  }
}

}  // namespace

ReconcileReport reconcile_stripe(pg::Connection& connection) {
  ReconcileReport report;
  connection.exec({"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}});
  try {
    const int64_t pruned_before_us =
        webhooks::read_deliveries_pruned_before_us(connection).value_or(INT64_MIN);
    const std::map<std::string, ProcessedDelivery> processed = load_processed(connection);
    const AllowanceCounts allowances =
        check_grants(connection, processed, pruned_before_us, report);
    check_invoices(connection, allowances, report);
  } catch (...) {
    connection.rollback();
    throw;
  }
  connection.exec({"", "COMMIT", {}});
  assert(report.clean == (report.invoices_without_grant + report.invoices_with_extra_grants +
                              report.grants_without_delivery + report.periods_granted_twice ==
                          0));
  return report;
}

}  // namespace audit
