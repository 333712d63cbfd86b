// The pruning loop and the ledger's prune targets (ledger/retention.h).
#include "ledger/retention.h"

#include <cassert>

namespace ledger {
namespace {

// Rows whose `column` is older than the window: `$1` is the window in days, counted back
// from the transaction's start.
std::string older_than_window(std::string_view column) {
  return std::string(column) + " < now() - $1 * interval '1 day'";
}

// The rows of `table` (primary key `keys`) matching `condition` (of `$1`, the window).
PruneTarget rows_matching(std::string table, const std::vector<std::string>& keys,
                          const std::string& condition, std::string_view order_by,
                          int retention_days) {
  const std::string count_sql = "SELECT count(*) FROM " + table + " WHERE " + condition;
  const std::string delete_sql = claim_and_delete_sql(table, keys, condition, order_by, "$2");
  return {std::move(table), retention_days,
          [count_sql](pqxx::transaction_base& work, int days) {
            return work.exec_params1(count_sql, days)[0].as<int64_t>();
          },
          [delete_sql](pqxx::transaction_base& work, int days, int64_t limit) {
            return static_cast<int64_t>(work.exec_params(delete_sql, days, limit).affected_rows());
          }};
}

PruneCount prune_target(pqxx::connection& connection, const PruneTarget& target,
                        const RetentionSettings& settings, bool dry_run,
                        const std::function<bool()>& stop_requested) {
  PruneCount count{target.name, target.retention_days, 0, false};
  if (dry_run) {
    pqxx::read_transaction work(connection);
    count.rows = target.count(work, target.retention_days);
    return count;
  }
  for (int batch = 0; batch < settings.batches_max; ++batch) {
    if (stop_requested && stop_requested()) return count;
    pqxx::work work(connection, "prune " + target.name);
    const int64_t deleted = target.delete_batch(work, target.retention_days, settings.batch_rows);
    work.commit();
    assert(deleted >= 0 && deleted <= settings.batch_rows);
    count.rows += deleted;
    if (deleted < settings.batch_rows) return count;
  }
  count.more_left = true;  // a full last batch: maybe more; the next run goes on
  return count;
}

}  // namespace

std::string claim_and_delete_sql(std::string_view table, const std::vector<std::string>& keys,
                                 std::string_view condition, std::string_view order_by,
                                 std::string_view limit_parameter) {
  assert(!keys.empty());
  std::string key_list;
  std::string key_match;
  for (const std::string& key : keys) {
    key_list += (key_list.empty() ? "" : ", ") + key;
    key_match += (key_match.empty() ? "" : " AND ") + std::string("t.") + key + " = c." + key;
  }
  const std::string order = order_by.empty() ? "" : " ORDER BY " + std::string(order_by);
  return "DELETE FROM " + std::string(table) + " t USING (SELECT " + key_list + " FROM " +
         std::string(table) + " WHERE " + std::string(condition) + order + " LIMIT " +
         std::string(limit_parameter) + " FOR UPDATE SKIP LOCKED) c WHERE " + key_match;
}

std::string retention_settings_error(const RetentionSettings& settings) {
  for (const auto& [name, days] :
       {std::pair{"idempotency", settings.idempotency_days},
        std::pair{"outbox", settings.outbox_days}, std::pair{"webhook", settings.webhook_days}}) {
    if (days < 0 || days > kRetentionDaysMax) {
      return std::string(name) + " retention must be 0 (keep forever) or 1.." +
             std::to_string(kRetentionDaysMax) + " days";
    }
  }
  if (settings.outbox_attempts_max < 1) return "outbox attempts must be >= 1";
  if (settings.batch_rows < 1 || settings.batch_rows > 100'000 || settings.batches_max < 1) {
    return "prune batches must be 1..100000 rows, at least one per run";
  }
  return "";
}

std::vector<PruneTarget> ledger_prune_targets(const RetentionSettings& settings) {
  assert(retention_settings_error(settings).empty());
  // Delivered, or given up (attempts exhausted, last activity past the window); a message
  // still being retried is never pruned.
  const std::string outbox_settled =
      "((delivered_at IS NOT NULL AND " + older_than_window("delivered_at") +
      ") OR (delivered_at IS NULL AND attempts >= " + std::to_string(settings.outbox_attempts_max) +
      " AND " + older_than_window("next_attempt_at") + "))";
  // An idempotency record only answers repeats of its key: settled as soon as it is written.
  return {rows_matching("ledger_idempotency", {"account_id", "idempotency_key"},
                        older_than_window("created_at"), "created_at", settings.idempotency_days),
          rows_matching("ledger_outbox", {"account_id", "message_id"}, outbox_settled, "",
                        settings.outbox_days)};
}

std::vector<PruneCount> prune(pqxx::connection& connection, const std::vector<PruneTarget>& targets,
                              const RetentionSettings& settings, bool dry_run,
                              const std::function<bool()>& stop_requested) {
  assert(retention_settings_error(settings).empty());
  std::vector<PruneCount> counts;
  for (const PruneTarget& target : targets) {
    assert(target.retention_days >= 0);
    if (target.retention_days == 0) {
      counts.push_back({target.name, 0, 0, false});
      continue;
    }
    counts.push_back(prune_target(connection, target, settings, dry_run, stop_requested));
  }
  return counts;
}

}  // namespace ledger
