// The outbox, table ledger_outbox: side effects (emails, Stripe calls) appended in the same
// transaction as the events that cause them, then delivered. Messages are claimed with a
// lease in one short transaction; each is re-checked and its lease restarted just before its
// handler runs (so a slow handler never lets another process send a message twice),
// delivered with no transaction open, then marked delivered;
// a failure is retried with exponential backoff up to a limit. Safe with several processes
// (FOR UPDATE SKIP LOCKED + lease).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ledger/periodic_task.h"
#include "ledger/pg.h"

namespace ledger {

// One message to append with the events that cause it (ledger_outbox).
struct OutboxRow {
  std::string account_id;
  std::string message_id;  // a UUID
  std::string kind;
  std::string payload_json;
};
pg::Statement append_outbox(const std::vector<OutboxRow>& rows);

// What one delivery attempt concluded: delivered (no error), failed for now (retried with
// backoff), or failed for good (`permanent`, e.g. the provider refused the request itself):
// given up at once and kept for operators with its reason in last_error.
struct OutboxResult {
  std::string error;
  bool permanent = false;

  OutboxResult() = default;
  OutboxResult(std::string text) : error(std::move(text)) {}  // NOLINT: "" means delivered
  OutboxResult(const char* text) : error(text) {}             // NOLINT
  static OutboxResult give_up(std::string reason) {
    OutboxResult result(std::move(reason));
    result.permanent = true;
    return result;
  }
};

// Delivers one message. Must be idempotent by message id (a crash between delivery and
// marking delivers again).
using OutboxHandler = std::function<OutboxResult(const std::string& message_id,
                                                 const std::string& account_id,
                                                 const std::string& payload_json)>;

// Attempts after which an undelivered message is given up (kept for operators, then pruned
// with the delivered ones: ledger/retention.h).
inline constexpr int kOutboxAttemptsMaxDefault = 10;

struct OutboxOptions {
  std::string database_url;
  int64_t poll_interval_ms = 1'000;
  int64_t lease_ms = 60'000;
  std::size_t batch_max = 50;
  int attempts_max = kOutboxAttemptsMaxDefault;
};

class OutboxDeliverer {
 public:
  // Handlers by message kind; a message of a kind without a handler stays undelivered.
  OutboxDeliverer(OutboxOptions options, std::map<std::string, OutboxHandler> handlers);
  ~OutboxDeliverer();

  // Delivers every due message once (up to batch_max); returns how many were delivered.
  // One call at a time per deliverer (they share its connection); thread-safe.
  int deliver_due();
  void start() { task_.start(); }  // background loop
  void stop() { task_.stop(); }    // idempotent

 private:
  const OutboxOptions options_;
  const std::map<std::string, OutboxHandler> handlers_;
  std::mutex delivering_;          // held by deliver_due
  pg::LazyConnection connection_;  // guarded by delivering_
  PeriodicTask task_;
};

}  // namespace ledger
