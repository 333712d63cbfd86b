// Pruning of the webhook inbox (webhooks/inbox_retention.h).
#include "webhooks/inbox_retention.h"

#include <cassert>
#include <string>
#include <vector>

#include "ledger/sql_text.h"
#include "webhooks/stripe_inbox.h"

namespace webhooks {
namespace {

// A settled delivery last updated before the window ($1 days). A failed row without a note
// makes the NOT unknown, so it is kept too.
std::string settled_before_window() {
  return "status IN ('processed', 'ignored', 'failed') AND NOT " +
         std::string(kOpenDeliveryCondition) + " AND updated_at < now() - $1 * interval '1 day'";
}

int64_t count_settled(pqxx::transaction_base& work, int retention_days) {
  return work
      .exec_params1("SELECT count(*) FROM webhook_processing WHERE " + settled_before_window(),
                    retention_days)[0]
      .as<int64_t>();
}

int64_t delete_settled(pqxx::transaction_base& work, int retention_days, int64_t limit) {
  // The cutoff the delivery trigger checks, for this transaction only.
  work.exec_params(
      "SELECT set_config('ledger.webhook_prune_before',"
      " (now() - $1 * interval '1 day')::text, true)",
      retention_days);
  const pqxx::result gone = work.exec_params(
      ledger::claim_and_delete_sql("webhook_processing", {"provider", "provider_event_id"},
                                   settled_before_window(), "updated_at", "$2") +
          " RETURNING t.provider, t.provider_event_id",
      retention_days, limit);
  if (gone.empty()) return 0;
  std::vector<std::string> providers;
  std::vector<std::string> event_ids;
  for (const pqxx::row& row : gone) {
    providers.push_back(row[0].as<std::string>());
    event_ids.push_back(row[1].as<std::string>());
  }
  const pqxx::result deleted = work.exec_params(
      "DELETE FROM webhook_deliveries d"
      " USING unnest($1::text[], $2::text[]) AS g(provider, provider_event_id)"
      " WHERE d.provider = g.provider AND d.provider_event_id = g.provider_event_id",
      ledger::sql::text_array_literal(providers), ledger::sql::text_array_literal(event_ids));
  // Every processing row has its delivery (same transaction, foreign key).
  assert(deleted.affected_rows() == gone.size());
  work.exec0(
      "INSERT INTO retention_horizons (subject, pruned_before)"
      " VALUES ('webhook_deliveries', current_setting('ledger.webhook_prune_before')::timestamptz)"
      " ON CONFLICT (subject) DO UPDATE"
      " SET pruned_before = greatest(retention_horizons.pruned_before, excluded.pruned_before)");
  return static_cast<int64_t>(gone.size());
}

}  // namespace

ledger::PruneTarget inbox_prune_target(int retention_days) {
  assert(retention_days >= 0);
  return {"webhook_deliveries", retention_days, count_settled, delete_settled};
}

std::vector<ledger::PruneTarget> service_prune_targets(const ledger::RetentionSettings& settings) {
  std::vector<ledger::PruneTarget> targets = ledger::ledger_prune_targets(settings);
  targets.push_back(inbox_prune_target(settings.webhook_days));
  return targets;
}

}  // namespace webhooks
