// ledger_accounts gateway (projections/balances.h).
#include "projections/balances.h"

#include <cassert>

#include "crypto/digest.h"
#include "ledger/sql_text.h"

namespace projections::balances {
namespace {

constexpr const char* kColumns =
    "account_id, plan_id, credits_available, credits_reserved, credits_granted, credits_spent,"
    " credits_expired, stream_version, last_hash, closed";

}  // namespace

pg::Statement load(const std::vector<std::string>& account_ids) {
  // A join with the keys, not `= ANY($1)`: the generic plan of ANY can be a sequential scan.
  static const std::string sql = std::string("SELECT ") + kColumns +
                                 " FROM unnest($1::text[]) AS k(account_id)"
                                 " JOIN ledger_accounts USING (account_id)";
  return {"balances_load", sql, {ledger::sql::text_array(account_ids)}};
}

void apply(const pg::Result& rows, ledger::AccountStates& states) {
  for (int i = 0; i < rows.rows(); ++i) {
    ledger::AccountState& account = states.at(rows.string(i, 0));
    account.opened = true;
    account.plan_id = rows.string(i, 1);
    account.credits_available = rows.int64(i, 2);
    account.credits_reserved = rows.int64(i, 3);
    account.credits_granted = rows.int64(i, 4);
    account.credits_spent = rows.int64(i, 5);
    account.credits_expired = rows.int64(i, 6);
    account.version = rows.int64(i, 7);
    account.last_hash = rows.bytes(i, 8);
    account.closed = rows.boolean(i, 9);
  }
}

pg::Statement write(const std::vector<const ledger::AccountState*>& accounts, int64_t now_us) {
  assert(!accounts.empty());
  std::vector<std::string> ids, plans, hashes, closed;
  std::vector<int64_t> available, reserved, granted, spent, expired, versions;
  for (const ledger::AccountState* a : accounts) {
    assert(a->opened && ledger::balance_invariants_hold(*a));
    ids.push_back(a->account_id);
    plans.push_back(a->plan_id);
    available.push_back(a->credits_available);
    reserved.push_back(a->credits_reserved);
    granted.push_back(a->credits_granted);
    spent.push_back(a->credits_spent);
    expired.push_back(a->credits_expired);
    versions.push_back(a->version);
    hashes.push_back(crypto::hex_encode(a->last_hash));
    closed.push_back(a->closed ? "true" : "false");
  }
  using namespace ledger::sql;
  // MERGE, not INSERT .. ON CONFLICT: the callers hold the accounts' locks, so no row can
  // appear concurrently, and a join costs less than speculative insertion.
  return {"balances_write",
          "MERGE INTO ledger_accounts t USING (SELECT * FROM unnest($1::text[], $2::text[],"
          " $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],"
          " $9::text[], $11::boolean[]) AS x(a, p, av, rs, g, sp, ex, v, h, c))"
          " x ON t.account_id = x.a"
          " WHEN MATCHED THEN UPDATE SET plan_id = x.p, credits_available = x.av,"
          " credits_reserved = x.rs, credits_granted = x.g, credits_spent = x.sp,"
          " credits_expired = x.ex, stream_version = x.v, last_hash = decode(x.h, 'hex'),"
          " closed = x.c, updated_at = $10::timestamptz"
          " WHEN NOT MATCHED THEN INSERT (account_id, plan_id, credits_available,"
          " credits_reserved, credits_granted, credits_spent, credits_expired, stream_version,"
          " last_hash, closed, updated_at) VALUES (x.a, x.p, x.av, x.rs, x.g, x.sp, x.ex, x.v,"
          " decode(x.h, 'hex'), x.c, $10::timestamptz)",
          {text_array(ids), text_array(plans), int64_array(available), int64_array(reserved),
           int64_array(granted), int64_array(spent), int64_array(expired), int64_array(versions),
           text_array(hashes), timestamp_literal(now_us), text_array(closed)}};
}

pg::Statement clear() { return {"balances_clear", "DELETE FROM ledger_accounts", {}}; }

std::string difference(const ledger::AccountState& projected, const ledger::AccountState& folded) {
  if (!projected.opened) return "balance projection row is missing";
  if (projected.plan_id != folded.plan_id ||
      projected.credits_available != folded.credits_available ||
      projected.credits_reserved != folded.credits_reserved ||
      projected.credits_granted != folded.credits_granted ||
      projected.credits_spent != folded.credits_spent ||
      projected.credits_expired != folded.credits_expired ||
      projected.version != folded.version || projected.last_hash != folded.last_hash ||
      projected.closed != folded.closed) {
    return "balance projection differs from the fold of its events";
  }
  return "";
}

std::optional<BalanceView> read(pg::Connection& connection, const std::string& account_id) {
  const pg::Result rows = connection.exec(
      {"balances_read",
       "SELECT plan_id, credits_available, credits_reserved, credits_granted, credits_spent,"
       " credits_expired, stream_version FROM ledger_accounts WHERE account_id = $1",
       {account_id}});
  if (rows.rows() == 0) return std::nullopt;
  BalanceView view;
  view.account_id = account_id;
  view.plan_id = rows.string(0, 0);
  view.credits_available = rows.int64(0, 1);
  view.credits_reserved = rows.int64(0, 2);
  view.credits_granted = rows.int64(0, 3);
  view.credits_spent = rows.int64(0, 4);
  view.credits_expired = rows.int64(0, 5);
  view.version = rows.int64(0, 6);
  return view;
}

std::vector<std::string> read_orphans(pg::Connection& connection, int64_t limit) {
  const pg::Result rows = connection.exec(
      {"balances_orphans",
       "SELECT a.account_id FROM ledger_accounts a WHERE NOT EXISTS"
       " (SELECT 1 FROM ledger_events e WHERE e.stream_id = a.account_id) LIMIT $1",
       {std::to_string(limit)}});
  std::vector<std::string> ids;
  for (int i = 0; i < rows.rows(); ++i) ids.push_back(rows.string(i, 0));
  return ids;
}

}  // namespace projections::balances
