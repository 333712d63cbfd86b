// ledger_accounts gateway (projections/balances.h).
#include "projections/balances.h"

#include <rapidjson/document.h>

#include <cassert>
#include <stdexcept>

#include "crypto/digest.h"
#include "ledger/json_fields.h"
#include "ledger/sql_text.h"

namespace projections::balances {
namespace {

// Timestamps travel as microseconds; 0 is NULL.
#define US_OF(column) "coalesce((extract(epoch from " column ") * 1000000)::bigint, 0)"
#define TIMESTAMP_OF(us)                                                                          \
  "CASE WHEN " us " = 0 THEN NULL ELSE 'epoch'::timestamptz + " us " * interval '1 microsecond' " \
                                                                   "END"

constexpr const char* kColumns =
    "account_id, plan_id, credits_available, credits_reserved, credits_granted, credits_spent,"
    " credits_expired, stream_version, last_hash, closed, buckets, buckets_created, " US_OF(
        "opened_at") ", " US_OF("allowance_until");

std::string encode_buckets(const ledger::AccountState& account) {
  rapidjson::StringBuffer buffer;
  ledger::json::Writer w(buffer);
  w.StartArray();
  for (const ledger::CreditBucket* b : ledger::buckets_in_burn_down_order(account)) {
    w.StartObject();
    ledger::json::put(w, "id", b->id);
    ledger::json::put(w, "source", b->source);
    ledger::json::put(w, "remaining", b->remaining);
    ledger::json::put(w, "reserved", b->reserved);
    ledger::json::put(w, "expires_at_us", b->expires_at_us);
    ledger::json::put(w, "priority", b->priority);
    ledger::json::put(w, "seq", b->seq);
    if (!b->reference.empty()) {
      ledger::json::put(w, "reference", b->reference);
      ledger::json::put(w, "revoked", b->revoked);
      ledger::json::put(w, "revoke_target", b->revoke_target);
    }
    w.EndObject();
  }
  w.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::map<std::string, ledger::CreditBucket> decode_buckets(std::string_view text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError() || !d.IsArray()) {
    throw std::runtime_error("the balance projection holds malformed buckets");
  }
  std::map<std::string, ledger::CreditBucket> buckets;
  for (const rapidjson::Value& v : d.GetArray()) {
    if (!v.IsObject()) throw std::runtime_error("the balance projection holds a malformed bucket");
    ledger::CreditBucket b;
    auto id = ledger::json::get_string(v, "id");
    auto source = ledger::json::get_string(v, "source");
    auto remaining = ledger::json::get_int64(v, "remaining");
    auto reserved = ledger::json::get_int64(v, "reserved");
    auto expires = ledger::json::get_int64(v, "expires_at_us");
    auto priority = ledger::json::get_int64(v, "priority");
    auto seq = ledger::json::get_int64(v, "seq");
    if (!id || !source || !remaining || !reserved || !expires || !priority || !seq) {
      throw std::runtime_error("the balance projection holds a malformed bucket");
    }
    b = ledger::CreditBucket{*id, *source, *remaining, *reserved, *expires, *priority, *seq};
    if (v.HasMember("reference")) {
      auto reference = ledger::json::get_string(v, "reference");
      auto revoked = ledger::json::get_int64(v, "revoked");
      auto target = ledger::json::get_int64(v, "revoke_target");
      if (!reference || !revoked || !target) {
        throw std::runtime_error("the balance projection holds a malformed bucket");
      }
      b.reference = std::move(*reference);
      b.revoked = *revoked;
      b.revoke_target = *target;
    }
    buckets[b.id] = std::move(b);
  }
  return buckets;
}

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
    account.buckets = decode_buckets(rows.text(i, 10));
    account.buckets_created = rows.int64(i, 11);
    account.opened_at_us = rows.int64(i, 12);
    account.allowance_until_us = rows.int64(i, 13);
  }
}

pg::Statement write(const std::vector<const ledger::AccountState*>& accounts, int64_t now_us) {
  assert(!accounts.empty());
  std::vector<std::string> ids, plans, hashes, buckets;
  std::vector<bool> closed;
  std::vector<int64_t> available, reserved, granted, spent, expired, versions, created, opened,
      allowance_until, due;
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
    closed.push_back(a->closed);
    buckets.push_back(encode_buckets(*a));
    created.push_back(a->buckets_created);
    opened.push_back(a->opened_at_us);
    allowance_until.push_back(a->allowance_until_us);
    due.push_back(ledger::credits_due_us(*a));
  }
  using namespace ledger::sql;
  // MERGE, not INSERT .. ON CONFLICT: the callers hold the accounts' locks, so no row can
  // appear concurrently, and a join costs less than speculative insertion.
  return {"balances_write",
          "MERGE INTO ledger_accounts t USING (SELECT * FROM unnest($1::text[], $2::text[],"
          " $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],"
          " $9::text[], $11::boolean[], $12::text[], $13::bigint[], $14::bigint[],"
          " $15::bigint[], $16::bigint[])"
          " AS x(a, p, av, rs, g, sp, ex, v, h, c, b, bc, o, au, d)) x ON t.account_id = x.a"
          " WHEN MATCHED THEN UPDATE SET plan_id = x.p, credits_available = x.av,"
          " credits_reserved = x.rs, credits_granted = x.g, credits_spent = x.sp,"
          " credits_expired = x.ex, stream_version = x.v, last_hash = decode(x.h, 'hex'),"
          " closed = x.c, updated_at = $10::timestamptz, buckets = x.b, buckets_created = x.bc,"
          " opened_at = " TIMESTAMP_OF("x.o") ", allowance_until = " TIMESTAMP_OF("x.au") ","
          " credits_due_at = " TIMESTAMP_OF("x.d")
          " WHEN NOT MATCHED THEN INSERT (account_id, plan_id, credits_available,"
          " credits_reserved, credits_granted, credits_spent, credits_expired, stream_version,"
          " last_hash, closed, updated_at, buckets, buckets_created, opened_at, allowance_until,"
          " credits_due_at) VALUES (x.a, x.p, x.av, x.rs, x.g, x.sp, x.ex, x.v,"
          " decode(x.h, 'hex'), x.c, $10::timestamptz, x.b, x.bc, " TIMESTAMP_OF("x.o") ", "
          TIMESTAMP_OF("x.au") ", " TIMESTAMP_OF("x.d") ")",
          {text_array(ids), text_array(plans), int64_array(available), int64_array(reserved),
           int64_array(granted), int64_array(spent), int64_array(expired), int64_array(versions),
           text_array(hashes), timestamp_literal(now_us), bool_array(closed), text_array(buckets),
           int64_array(created), int64_array(opened), int64_array(allowance_until),
           int64_array(due)}};
}

pg::Statement clear() { return {"balances_clear", "TRUNCATE ledger_accounts", {}}; }

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
  if (projected.buckets != folded.buckets || projected.buckets_created != folded.buckets_created ||
      projected.opened_at_us != folded.opened_at_us ||
      projected.allowance_until_us != folded.allowance_until_us) {
    return "balance projection's credit buckets differ from the fold of its events";
  }
  return "";
}

std::optional<BalanceView> read(pg::Connection& connection, const std::string& account_id) {
  const pg::Result rows = connection.exec(
      {"balances_read",
       "SELECT plan_id, credits_available, credits_reserved, credits_granted, credits_spent,"
       " credits_expired, stream_version, buckets, closed, " US_OF("opened_at") ", " US_OF(
           "allowance_until") " FROM ledger_accounts WHERE account_id = $1",
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
  ledger::AccountState state;
  state.buckets = decode_buckets(rows.text(0, 7));
  for (const ledger::CreditBucket* bucket : ledger::buckets_in_burn_down_order(state)) {
    view.buckets.push_back(*bucket);
  }
  view.closed = rows.boolean(0, 8);
  state.opened_at_us = rows.int64(0, 9);
  state.allowance_until_us = rows.int64(0, 10);
  view.free_allowance_due_us = ledger::free_allowance_due_us(state);
  return view;
}

std::vector<std::pair<std::string, int64_t>> read_credits_due(pg::Connection& connection,
                                                              int64_t limit) {
  assert(limit > 0);
  const pg::Result rows = connection.exec(
      {"balances_credits_due",
       "SELECT account_id, " US_OF("credits_due_at") " FROM ledger_accounts"
                                                     " WHERE credits_due_at <= clock_timestamp() "
                                                     "ORDER BY credits_due_at LIMIT $1",
       {std::to_string(limit)}});
  std::vector<std::pair<std::string, int64_t>> due;
  for (int i = 0; i < rows.rows(); ++i) due.emplace_back(rows.string(i, 0), rows.int64(i, 1));
  return due;
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
