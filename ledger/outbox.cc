// Outbox delivery loop (ledger/outbox.h).
#include "ledger/outbox.h"

#include <spdlog/spdlog.h>

#include "ledger/backoff.h"
#include "ledger/lease_claim.h"
#include "ledger/sql_text.h"
#include "unicode/utf8.h"

namespace ledger {

pg::Statement append_outbox(const std::vector<OutboxRow>& rows) {
  std::vector<std::string> accounts, ids, kinds, payloads;
  for (const OutboxRow& row : rows) {
    accounts.push_back(row.account_id);
    ids.push_back(row.message_id);
    kinds.push_back(row.kind);
    payloads.push_back(row.payload_json);
  }
  return {"outbox_append",
          "INSERT INTO ledger_outbox (account_id, message_id, kind, payload)"
          " SELECT a, m::uuid, k, p::json FROM unnest($1::text[], $2::text[], $3::text[],"
          " $4::text[]) AS x(a, m, k, p)",
          {sql::text_array(accounts), sql::text_array(ids), sql::text_array(kinds),
           sql::text_array(payloads)}};
}

OutboxDeliverer::OutboxDeliverer(OutboxOptions options,
                                 std::map<std::string, OutboxHandler> handlers)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      connection_(pg::ConnectionOptions{options_.database_url}),
      task_("outbox delivery", options_.poll_interval_ms, [this] { deliver_due(); }) {}

OutboxDeliverer::~OutboxDeliverer() { stop(); }

int OutboxDeliverer::deliver_due() {
  std::lock_guard lock(delivering_);
  pg::Connection& connection = connection_.get();
  std::vector<std::string> kinds;
  for (const auto& [kind, handler] : handlers_) kinds.push_back(kind);
  static const std::string kClaim = lease_claim_sql(
      {.table = "ledger_outbox",
       .key_columns = "account_id, message_id",
       .due = "delivered_at IS NULL AND next_attempt_at <= clock_timestamp() AND attempts < $2"
              " AND kind = ANY($3::text[])",
       .order_by = "next_attempt_at",
       .limit = "$4",
       .lease_ms = "$1",
       .also_set = "attempts = t.attempts + 1",
       .returning = "t.account_id, t.message_id::text, t.kind, t.payload::text, t.attempts"});
  const pg::Result claimed =
      connection.exec({"outbox_claim",
                       kClaim,
                       {std::to_string(options_.lease_ms), std::to_string(options_.attempts_max),
                        sql::text_array(kinds), std::to_string(options_.batch_max)}});
  int delivered = 0;
  for (int i = 0; i < claimed.rows(); ++i) {
    const std::string account = claimed.string(i, 0);
    const std::string id = claimed.string(i, 1);
    const std::string kind = claimed.string(i, 2);
    const int64_t attempts = claimed.int64(i, 4);
    // Still ours? A slow handler can outlast the lease of the messages claimed after it; one
    // another process has claimed since (attempts moved) or delivered is left to it. The
    // lease restarts now, for this message alone.
    const pg::Result still_ours = connection.exec(
        {"outbox_renew_lease",
         "UPDATE ledger_outbox SET next_attempt_at = clock_timestamp() + $4::bigint * interval"
         " '1 millisecond' WHERE account_id = $1 AND message_id = $2::uuid"
         " AND delivered_at IS NULL AND attempts = $3::int RETURNING 1",
         {account, id, std::to_string(attempts), std::to_string(options_.lease_ms)}});
    if (still_ours.rows() == 0) continue;
    OutboxResult result;
    try {
      result = handlers_.at(kind)(id, account, claimed.string(i, 3));
    } catch (const std::exception& exception) {
      result = OutboxResult(exception.what());
    }
    const std::string& error = result.error;
    if (error.empty()) {
      connection.exec(
          {"outbox_delivered",
           "UPDATE ledger_outbox SET delivered_at = clock_timestamp(), last_error = NULL"
           " WHERE account_id = $1 AND message_id = $2::uuid",
           {account, id}});
      ++delivered;
    } else if (result.permanent) {
      // Given up at once: attempts at the limit, so no loop claims it again.
      connection.exec(
          {"outbox_given_up",
           "UPDATE ledger_outbox SET last_error = $3, attempts = greatest(attempts, $4::int)"
           " WHERE account_id = $1 AND message_id = $2::uuid",
           {account, id, unicode::scrub_utf8(unicode::truncate_utf8("permanent: " + error, 500)),
            std::to_string(options_.attempts_max)}});
      spdlog::error("outbox {} ({}) given up for good: {}", id, kind, error);
    } else {
      // 2^attempts seconds, at most one hour.
      const int64_t backoff_ms = exponential_backoff(1'000, static_cast<int>(attempts), 3'600'000);
      connection.exec(
          {"outbox_failed_attempt",
           "UPDATE ledger_outbox SET last_error = $3,"
           " next_attempt_at = clock_timestamp() + $4::bigint * interval '1 millisecond'"
           " WHERE account_id = $1 AND message_id = $2::uuid",
           {account, id, unicode::scrub_utf8(unicode::truncate_utf8(error, 500)),
            std::to_string(backoff_ms)}});
      spdlog::warn("outbox {} ({}) attempt {} failed: {}", id, kind, attempts, error);
    }
  }
  return delivered;
}

}  // namespace ledger
