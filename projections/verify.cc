// Ledger verification and projection replay (projections/verify.h).
#include "projections/verify.h"

#include <map>
#include <set>
#include <optional>

#include "crypto/digest.h"
#include "ledger/account.h"
#include "ledger/sql_text.h"
#include "ledger/store.h"

namespace projections {
namespace {

constexpr int64_t kPageSize = 1'000;

using ledger::AccountState;
using ledger::Reservation;
using ledger::StoredEvent;
using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

VerifyReport fail(VerifyReport report, std::string problem, std::string stream_id = "",
                  int64_t version = 0) {
  report.clean = false;
  report.problem = std::move(problem);
  report.stream_id = std::move(stream_id);
  report.stream_version = version;
  return report;
}

// Folds one stream, checking versions and the hash chain. Returns the state, or sets
// `problem`/`bad_version` and returns nullopt.
std::optional<AccountState> fold_checked(pqxx::transaction_base& work, const std::string& stream,
                                         int64_t& events_checked, std::string& problem,
                                         int64_t& bad_version) {
  AccountState state = ledger::empty_account(stream);
  for (;;) {
    const auto events = ledger::read_stream(work, stream, state.version, kPageSize);
    for (const StoredEvent& event : events) {
      bad_version = event.stream_version;
      if (event.stream_version != state.version + 1) {
        problem = "stream version gap: expected " + std::to_string(state.version + 1);
        return std::nullopt;
      }
      if (!crypto::constant_time_equal(ledger::event_hash(state.last_hash, event), event.hash)) {
        problem = "hash chain broken: the event's stored bytes or hash were altered";
        return std::nullopt;
      }
      const auto body = ledger::decode_event(event.event_type, event.payload);
      if (!body) {
        problem = "event payload does not decode as " + event.event_type;
        return std::nullopt;
      }
      if (!ledger::apply_event(state, *body)) {
        problem = "event cannot follow the stream's state (" + event.event_type + ")";
        return std::nullopt;
      }
      state.version = event.stream_version;
      state.last_hash = event.hash;
      ++events_checked;
    }
    if (static_cast<int64_t>(events.size()) < kPageSize) break;
  }
  if (!ledger::full_invariants_hold(state)) {
    problem = "balance invariants do not hold after the fold";
    bad_version = state.version;
    return std::nullopt;
  }
  return state;
}

std::string compare_subscription(pqxx::transaction_base& work, const AccountState& folded) {
  const ledger::SubscriptionState& sub = folded.subscription;
  const pqxx::result rows = work.exec_params(
      "SELECT subscription_id, customer_id, status, plan_id, scheduled_plan_id, period_start_s,"
      " period_end_s, cancel_at_period_end, watermark_created_s, granted_periods"
      " FROM ledger_subscriptions WHERE account_id = $1",
      folded.account_id);
  if (sub.subscription_id.empty()) {
    return rows.empty() ? "" : "subscription projection row without subscription events";
  }
  if (rows.empty()) return "subscription projection row is missing";
  const pqxx::row r = rows[0];
  const auto periods = ledger::sql::parse_text_array(r[9].as<std::string>());
  if (r[0].as<std::string>() != sub.subscription_id || r[1].as<std::string>() != sub.customer_id ||
      r[2].as<std::string>() != sub.status || r[3].as<std::string>() != sub.plan_id ||
      r[4].as<std::string>() != sub.scheduled_plan_id || r[5].as<int64_t>() != sub.period_start_s ||
      r[6].as<int64_t>() != sub.period_end_s || r[7].as<bool>() != sub.cancel_at_period_end ||
      r[8].as<int64_t>() != sub.watermark_created_s ||
      std::set<std::string>(periods.begin(), periods.end()) != sub.granted_periods) {
    return "subscription projection differs from the fold of its events";
  }
  return "";
}

std::string compare_refund_references(pqxx::transaction_base& work, const AccountState& folded) {
  const pqxx::result rows = work.exec_params(
      "SELECT reference FROM ledger_refund_references WHERE account_id = $1", folded.account_id);
  std::set<std::string> stored;
  for (const pqxx::row& row : rows) stored.insert(row[0].as<std::string>());
  return stored == folded.refund_references ? "" : "refund references differ from the fold";
}

// Compares the projection rows of one account with its fold; returns a problem or "".
std::string compare_projection(pqxx::transaction_base& work, const AccountState& folded) {
  const pqxx::result account = work.exec_params(
      "SELECT plan_id, credits_available, credits_reserved, credits_granted, credits_spent,"
      " credits_expired, stream_version, last_hash FROM ledger_accounts WHERE account_id = $1",
      folded.account_id);
  if (account.empty()) return "balance projection row is missing";
  const pqxx::row a = account[0];
  if (a[0].as<std::string>() != folded.plan_id || a[1].as<int64_t>() != folded.credits_available ||
      a[2].as<int64_t>() != folded.credits_reserved ||
      a[3].as<int64_t>() != folded.credits_granted || a[4].as<int64_t>() != folded.credits_spent ||
      a[5].as<int64_t>() != folded.credits_expired || a[6].as<int64_t>() != folded.version ||
      pqxx::binarystring(a[7]).str() != folded.last_hash) {
    return "balance projection differs from the fold of its events";
  }
  const pqxx::result rows = work.exec_params(
      "SELECT reservation_id, amount, feature, " + ledger::sql::epoch_us("expires_at") +
          ", status, amount_captured FROM ledger_reservations WHERE account_id = $1",
      folded.account_id);
  if (rows.size() != folded.reservations.size()) {
    return "reservation projection has " + std::to_string(rows.size()) + " rows, fold has " +
           std::to_string(folded.reservations.size());
  }
  for (const pqxx::row& row : rows) {
    const auto it = folded.reservations.find(row[0].as<std::string>());
    if (it == folded.reservations.end()) return "reservation " + row[0].as<std::string>() + " has no events";
    const Reservation& r = it->second;
    if (row[1].as<int64_t>() != r.amount || row[2].as<std::string>() != r.feature ||
        row[3].as<int64_t>() != r.expires_at_us ||
        row[4].as<std::string>() != ledger::reservation_status_name(r.status) ||
        row[5].as<int64_t>() != r.amount_captured) {
      return "reservation " + r.id + " differs from the fold of its events";
    }
  }
  if (auto problem = compare_refund_references(work, folded); !problem.empty()) return problem;
  return compare_subscription(work, folded);
}

std::string check_immutability_guards(pqxx::connection& connection) {
  pqxx::read_transaction work(connection);
  for (const char* table : {"ledger_events", "webhook_deliveries"}) {
    const int64_t enabled = work.exec_params1(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass"
        " AND NOT tgisinternal AND tgenabled <> 'D'",
        std::string(table))[0].as<int64_t>();
    if (enabled < 2) {
      return std::string("immutability triggers on ") + table + " are missing or disabled";
    }
  }
  return "";
}

// Stream ids in order, one page after `after`.
std::vector<std::string> stream_page(pqxx::transaction_base& work, const std::string& after) {
  const pqxx::result rows = work.exec_params(
      "SELECT DISTINCT stream_id FROM ledger_events WHERE stream_id > $1 ORDER BY 1 LIMIT $2",
      after, kPageSize);
  std::vector<std::string> ids;
  for (const pqxx::row& row : rows) ids.push_back(row[0].as<std::string>());
  return ids;
}

// Replaces the inline projections with the folded states (caller holds the locks).
void rewrite_projections(pqxx::work& work, const std::map<std::string, AccountState>& folded) {
  work.exec0("DELETE FROM ledger_refund_references");
  work.exec0("DELETE FROM ledger_subscriptions");
  work.exec0("DELETE FROM ledger_reservations");
  work.exec0("DELETE FROM ledger_accounts");
  for (const auto& [id, a] : folded) {
    work.exec_params(
        "INSERT INTO ledger_accounts (account_id, plan_id, credits_available, credits_reserved,"
        " credits_granted, credits_spent, credits_expired, stream_version, last_hash, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())",
        id, a.plan_id, a.credits_available, a.credits_reserved, a.credits_granted,
        a.credits_spent, a.credits_expired, a.version, pqxx::binarystring(a.last_hash));
    const ledger::SubscriptionState& sub = a.subscription;
    if (!sub.subscription_id.empty()) {
      const std::vector<std::string> periods(sub.granted_periods.begin(), sub.granted_periods.end());
      work.exec_params(
          "INSERT INTO ledger_subscriptions (account_id, subscription_id, customer_id, status,"
          " plan_id, scheduled_plan_id, period_start_s, period_end_s, cancel_at_period_end,"
          " watermark_created_s, granted_periods, updated_at)"
          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text[], now())",
          id, sub.subscription_id, sub.customer_id, sub.status, sub.plan_id,
          sub.scheduled_plan_id, sub.period_start_s, sub.period_end_s, sub.cancel_at_period_end,
          sub.watermark_created_s, ledger::sql::text_array(periods));
    }
    for (const std::string& reference : a.refund_references) {
      work.exec_params(
          "INSERT INTO ledger_refund_references (account_id, reference, amount)"
          " SELECT $1, $2, (payload->>'amount')::bigint FROM ledger_events"
          " WHERE stream_id = $1 AND event_type = 'CreditsRefunded' AND payload->>'reference' = $2",
          id, reference);
    }
    for (const auto& [rid, r] : a.reservations) {
      work.exec_params(
          "INSERT INTO ledger_reservations (account_id, reservation_id, amount, feature,"
          " expires_at, status, amount_captured) VALUES ($1, $2, $3, $4, $5::timestamptz, $6, $7)",
          id, rid, r.amount, r.feature, ledger::sql::timestamp_literal(r.expires_at_us),
          std::string(ledger::reservation_status_name(r.status)), r.amount_captured);
    }
  }
}

}  // namespace

VerifyReport verify_ledger(pqxx::connection& connection, const VerifyProgress& progress) {
  VerifyReport report;
  if (auto problem = check_immutability_guards(connection); !problem.empty()) {
    return fail(report, problem);
  }
  std::string after;
  for (;;) {
    std::vector<std::string> streams;
    {
      pqxx::read_transaction work(connection);
      streams = stream_page(work, after);
    }
    for (const std::string& stream : streams) {
      // Fold and compare in one snapshot, so a commit in between is not a false mismatch.
      Snapshot work(connection);
      std::string problem;
      int64_t bad_version = 0;
      const auto folded = fold_checked(work, stream, report.events_checked, problem, bad_version);
      if (!folded) return fail(report, problem, stream, bad_version);
      if (auto mismatch = compare_projection(work, *folded); !mismatch.empty()) {
        return fail(report, mismatch, stream, folded->version);
      }
      ++report.streams_checked;
      if (progress) progress(report.streams_checked, report.events_checked);
    }
    if (static_cast<int64_t>(streams.size()) < kPageSize) break;
    after = streams.back();
  }
  pqxx::read_transaction work(connection);
  const pqxx::result orphan = work.exec(
      "SELECT a.account_id FROM ledger_accounts a WHERE NOT EXISTS"
      " (SELECT 1 FROM ledger_events e WHERE e.stream_id = a.account_id) LIMIT 1");
  if (!orphan.empty()) {
    return fail(report, "balance projection row without events", orphan[0][0].as<std::string>());
  }
  return report;
}

int64_t replay_projections(pqxx::connection& connection, const VerifyProgress& progress) {
  // EXCLUSIVE on the event log blocks every committer's INSERT (ROW EXCLUSIVE) until the
  // rewrite commits, and the fold reads inside the same transaction: nothing committed
  // after the fold can be overwritten by it.
  pqxx::work work(connection);
  work.exec0(
      "LOCK TABLE ledger_events, ledger_accounts, ledger_reservations, ledger_subscriptions,"
      " ledger_refund_references IN EXCLUSIVE MODE");
  std::map<std::string, AccountState> folded;
  int64_t events = 0;
  std::string after;
  for (;;) {
    const auto streams = stream_page(work, after);
    for (const std::string& stream : streams) {
      std::string problem;
      int64_t bad_version = 0;
      auto state = fold_checked(work, stream, events, problem, bad_version);
      if (!state) {
        throw std::runtime_error("cannot replay " + stream + " at version " +
                                 std::to_string(bad_version) + ": " + problem);
      }
      folded.emplace(stream, std::move(*state));
      if (progress) progress(static_cast<int64_t>(folded.size()), events);
    }
    if (static_cast<int64_t>(streams.size()) < kPageSize) break;
    after = streams.back();
  }
  rewrite_projections(work, folded);
  work.commit();
  return static_cast<int64_t>(folded.size());
}

}  // namespace projections
