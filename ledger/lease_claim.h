// The one shape of "claim the due rows of a work table, leased": used by the outbox
// (ledger/outbox.cc) and the webhook inbox (webhooks/stripe_inbox.cc). Rows are picked
// oldest first with FOR UPDATE SKIP LOCKED, so concurrent claimers (threads or ledgerd
// processes) never take the same row, and are leased in the same statement by moving their
// next attempt past now: a claimer that dies leaves rows that come due again by themselves.
#pragma once

#include <string>
#include <string_view>

namespace ledger {

struct LeaseClaim {
  std::string_view table;        // "ledger_outbox"
  std::string_view key_columns;  // the primary key: "account_id, message_id"
  std::string_view due;          // the WHERE of a due row, e.g. "delivered_at IS NULL AND ..."
  std::string_view order_by;     // oldest first: "next_attempt_at"
  std::string_view limit;        // a parameter: "$4"
  std::string_view lease_ms;     // a parameter holding the lease in milliseconds: "$1"
  std::string_view also_set;     // more assignments ("attempts = t.attempts + 1") or ""
  std::string_view returning;    // columns of the claimed rows, qualified by t: "t.kind"
};

// The statement: UPDATE <table> t SET next_attempt_at = clock_timestamp() + lease
// [, also_set] FROM (SELECT <keys> FROM <table> WHERE <due> ORDER BY <order_by> LIMIT
// <limit> FOR UPDATE SKIP LOCKED) due WHERE t.<key> = due.<key> ... RETURNING <returning>.
std::string lease_claim_sql(const LeaseClaim& claim);

}  // namespace ledger
