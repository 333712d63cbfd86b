// Retention: rows that only exist to settle something (idempotency records, delivered
// outbox messages, finished webhook deliveries) are deleted once they are older than their
// window, in bounded batches. The event log (ledger_events) is never pruned: nothing here
// touches it, and its triggers would refuse it.
//
// This file owns the loop and the ledger's own tables (ledger_idempotency, ledger_outbox);
// webhooks/inbox_retention.h adds the inbox tables as one more PruneTarget. Each batch is
// one short transaction that claims its rows with FOR UPDATE SKIP LOCKED, so several
// ledgerd processes (and `ledgerctl prune`) may prune at once without blocking each other
// or deleting a row twice.
#pragma once

#include <cstdint>
#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/outbox.h"

namespace ledger {

inline constexpr int kIdempotencyRetentionDaysDefault = 30;
inline constexpr int kOutboxRetentionDaysDefault = 30;
inline constexpr int kWebhookRetentionDaysDefault = 90;
inline constexpr int kRetentionDaysMax = 36'500;
inline constexpr int64_t kPruneBatchRowsDefault = 1'000;
inline constexpr int kPruneBatchesMaxDefault = 100;

struct RetentionSettings {
  // Windows in days (1..kRetentionDaysMax); 0 keeps that kind of row forever.
  int idempotency_days = kIdempotencyRetentionDaysDefault;
  int outbox_days = kOutboxRetentionDaysDefault;
  int webhook_days = kWebhookRetentionDaysDefault;
  // An undelivered outbox message with this many attempts is given up (OutboxOptions).
  int outbox_attempts_max = kOutboxAttemptsMaxDefault;
  // Rows per statement, and statements per target and run: one run deletes at most
  // batch_rows * batches_max rows of each kind; the next run goes on.
  int64_t batch_rows = kPruneBatchRowsDefault;
  int batches_max = kPruneBatchesMaxDefault;
};

// Returns "" when the settings are usable, else what is wrong (naming the setting).
std::string retention_settings_error(const RetentionSettings& settings);

// One kind of expiring row. `count` returns how many rows are past the window now;
// `delete_batch` deletes at most `limit` of them inside `work` and returns how many.
struct PruneTarget {
  std::string name;    // the table, e.g. "ledger_idempotency"
  int retention_days;  // 0: kept forever (prune() skips it)
  std::function<int64_t(pqxx::transaction_base& work, int retention_days)> count;
  std::function<int64_t(pqxx::transaction_base& work, int retention_days, int64_t limit)>
      delete_batch;
};

// The statement that deletes at most `limit_parameter` (e.g. "$2") rows of `table` matching
// `condition`, in `order_by` order ("" for any), claimed with FOR UPDATE SKIP LOCKED so that
// concurrent pruners take disjoint rows. `keys` is the table's primary key; the deleted
// rows are `t`, so a caller may append " RETURNING t.column".
std::string claim_and_delete_sql(std::string_view table, const std::vector<std::string>& keys,
                                 std::string_view condition, std::string_view order_by,
                                 std::string_view limit_parameter);

struct PruneCount {
  std::string name;
  int retention_days = 0;
  int64_t rows = 0;        // deleted (or, on a dry run, that would be)
  bool more_left = false;  // the batch bound stopped the run with rows still past the window
};

// The ledger's targets of `settings`: idempotency records, settled outbox messages.
std::vector<PruneTarget> ledger_prune_targets(const RetentionSettings& settings);

// Deletes (or with `dry_run`, only counts) the rows past each target's window, each batch in
// its own transaction, at most settings.batches_max batches of settings.batch_rows per
// target; `stop_requested` (may be empty) is checked between batches. Returns one count per
// target, in order (0 rows for a target kept forever). Database errors propagate; batches
// committed before stay committed.
std::vector<PruneCount> prune(pqxx::connection& connection, const std::vector<PruneTarget>& targets,
                              const RetentionSettings& settings, bool dry_run,
                              const std::function<bool()>& stop_requested = {});

}  // namespace ledger
