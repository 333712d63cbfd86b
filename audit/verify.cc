// Ledger verification and projection replay (audit/verify.h).
#include "audit/verify.h"

#include <chrono>
#include <stdexcept>
#include <vector>

#include "crypto/digest.h"
#include "ledger/account.h"
#include "ledger/store.h"
#include "projections/usage.h"
#include "projections/balances.h"
#include "projections/refund_references.h"
#include "projections/replay_lock.h"
#include "projections/reservations.h"
#include "projections/subscriptions.h"
#include "webhooks/inbox_reads.h"

namespace audit {
namespace {

constexpr int64_t kPageSize = 1'000;
// Replay writes the rebuilt projections in statements of at most this many accounts.
constexpr std::size_t kReplayWriteChunk = 500;

using ledger::AccountState;
using ledger::StoredEvent;

VerifyReport fail(VerifyReport report, std::string problem, std::string stream_id = "",
                  int64_t version = 0) {
  report.clean = false;
  report.problem = std::move(problem);
  report.stream_id = std::move(stream_id);
  report.stream_version = version;
  return report;
}

// Folds one stream inside the caller's transaction, checking versions and the hash chain.
// Returns the state, or sets `problem`/`bad_version` and returns nullopt.
// `usage` receives what the stream's captures spent (the usage projection's fold).
std::optional<AccountState> fold_checked(pg::Connection& connection, const std::string& stream,
                                         int64_t& events_checked, std::string& problem,
                                         int64_t& bad_version, projections::usage::Usage& usage) {
  AccountState state = ledger::empty_account(stream);
  for (;;) {
    const std::vector<StoredEvent> events =
        ledger::read_stream(connection, stream, state.version, kPageSize);
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
      if (!ledger::fold_event(state, event)) {
        problem = "event does not decode or cannot follow the stream's state (" +
                  event.event_type + ")";
        return std::nullopt;
      }
      if (event.event_type == "ReservationCaptured") {  // decoded again only for these
        if (const auto body = ledger::decode_event(event.event_type, event.payload)) {
          projections::usage::count(state, *body, event.recorded_at_us, usage);
        }
      }
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

// The projection rows of one account, loaded through the gateways (one round trip); the
// usage rows into `usage`.
AccountState load_projected(pg::Connection& connection, const std::string& account_id,
                            projections::usage::Usage& usage) {
  ledger::AccountStates states;
  states.emplace(account_id, ledger::empty_account(account_id));
  const std::vector<pg::Statement> statements = {
      projections::balances::load({account_id}),
      projections::reservations::load_account(account_id),
      projections::subscriptions::load({account_id}),
      projections::refund_references::load_account(account_id),
      projections::usage::load_account(account_id),
  };
  const std::vector<pg::Result> results = connection.pipeline(statements);
  usage = projections::usage::apply(results[4]);
  projections::balances::apply(results[0], states);
  projections::reservations::apply(results[1], states);
  projections::subscriptions::apply(results[2], states);
  projections::refund_references::apply(results[3], states);
  return std::move(states.at(account_id));
}

std::string compare_projection(const AccountState& projected, const AccountState& folded) {
  for (const std::string& difference :
       {projections::balances::difference(projected, folded),
        projections::reservations::difference(projected, folded),
        projections::refund_references::difference(projected, folded),
        projections::subscriptions::difference(projected, folded)}) {
    if (!difference.empty()) return difference;
  }
  return "";
}

std::string check_immutability_guards(pg::Connection& connection) {
  if (!ledger::event_log_guarded(connection)) {
    return "immutability triggers on ledger_events are missing or disabled";
  }
  if (!webhooks::deliveries_guarded(connection)) {
    return "immutability triggers on webhook_deliveries are missing or disabled";
  }
  return "";
}

// Writes the folded states (and usage) through the gateways, in chunks (the caller holds the
// locks).
void write_projections(pg::Connection& connection, const ledger::AccountStates& folded,
                       const projections::usage::AccountsUsage& usage) {
  std::vector<const AccountState*> accounts;
  for (const auto& [id, state] : folded) accounts.push_back(&state);
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (std::size_t from = 0; from < accounts.size(); from += kReplayWriteChunk) {
    const std::vector<const AccountState*> chunk(
        accounts.begin() + static_cast<std::ptrdiff_t>(from),
        accounts.begin() + static_cast<std::ptrdiff_t>(std::min(from + kReplayWriteChunk,
                                                                accounts.size())));
    std::vector<const AccountState*> subscribed;
    std::vector<projections::reservations::Key> reservation_keys;
    std::vector<projections::refund_references::Key> reference_keys;
    projections::usage::AccountsUsage chunk_usage;
    for (const AccountState* account : chunk) {
      if (const auto it = usage.find(account->account_id); it != usage.end()) {
        chunk_usage.insert(*it);
      }
      if (!account->subscription.subscription_id.empty()) subscribed.push_back(account);
      for (const auto& [id, reservation] : account->reservations) {
        reservation_keys.emplace_back(account->account_id, id);
      }
      for (const auto& [reference, amount] : account->refund_references) {
        reference_keys.emplace_back(account->account_id, reference);
      }
    }
    std::vector<pg::Statement> statements = {projections::balances::write(chunk, now_us)};
    if (!subscribed.empty()) {
      statements.push_back(projections::subscriptions::write(subscribed, now_us));
    }
    if (!reservation_keys.empty()) {
      statements.push_back(projections::reservations::write(reservation_keys, folded));
    }
    if (!reference_keys.empty()) {
      statements.push_back(projections::refund_references::write(reference_keys, folded));
    }
    if (!chunk_usage.empty()) statements.push_back(projections::usage::add(chunk_usage));
    connection.pipeline(statements);
  }
}

}  // namespace

VerifyReport verify_ledger(pg::Connection& connection, const VerifyProgress& progress) {
  VerifyReport report;
  if (auto problem = check_immutability_guards(connection); !problem.empty()) {
    return fail(report, problem);
  }
  std::string after;
  for (;;) {
    const std::vector<std::string> streams = ledger::read_stream_ids(connection, after, kPageSize);
    for (const std::string& stream : streams) {
      // Fold and compare in one snapshot, so a commit in between is not a false mismatch.
      connection.exec({"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}});
      std::string problem;
      int64_t bad_version = 0;
      std::optional<AccountState> folded;
      std::string mismatch;
      try {
        projections::usage::Usage folded_usage;
        folded = fold_checked(connection, stream, report.events_checked, problem, bad_version,
                              folded_usage);
        if (folded) {
          projections::usage::Usage projected_usage;
          mismatch = compare_projection(load_projected(connection, stream, projected_usage), *folded);
          if (mismatch.empty()) {
            mismatch = projections::usage::difference(projected_usage, folded_usage);
          }
        }
      } catch (...) {
        connection.rollback();
        throw;
      }
      connection.exec({"", "COMMIT", {}});
      if (!folded) return fail(report, problem, stream, bad_version);
      if (!mismatch.empty()) return fail(report, mismatch, stream, folded->version);
      ++report.streams_checked;
      if (progress) progress(report.streams_checked, report.events_checked);
    }
    if (static_cast<int64_t>(streams.size()) < kPageSize) break;
    after = streams.back();
  }
  const std::vector<std::string> orphans = projections::balances::read_orphans(connection, 1);
  if (!orphans.empty()) return fail(report, "balance projection row without events", orphans[0]);
  return report;
}

int64_t replay_projections(pg::Connection& connection, const VerifyProgress& progress) {
  // EXCLUSIVE on the event log blocks every committer's INSERT (ROW EXCLUSIVE) until the
  // rewrite commits, and the fold reads inside the same transaction: nothing committed
  // after the fold can be overwritten by it.
  connection.pipeline(
      std::vector<pg::Statement>{{"", "BEGIN", {}}, projections::lock_against_appends()});
  try {
    ledger::AccountStates folded;
    projections::usage::AccountsUsage usage;
    int64_t events = 0;
    std::string after;
    for (;;) {
      const std::vector<std::string> streams = ledger::read_stream_ids(connection, after, kPageSize);
      for (const std::string& stream : streams) {
        std::string problem;
        int64_t bad_version = 0;
        projections::usage::Usage spent;
        auto state = fold_checked(connection, stream, events, problem, bad_version, spent);
        if (!state) {
          throw std::runtime_error("cannot replay " + stream + " at version " +
                                   std::to_string(bad_version) + ": " + problem);
        }
        folded.emplace(stream, std::move(*state));
        if (!spent.empty()) usage.emplace(stream, std::move(spent));
        if (progress) progress(static_cast<int64_t>(folded.size()), events);
      }
      if (static_cast<int64_t>(streams.size()) < kPageSize) break;
      after = streams.back();
    }
    connection.pipeline(std::vector<pg::Statement>{
        projections::refund_references::clear(), projections::subscriptions::clear(),
        projections::reservations::clear(), projections::balances::clear(),
        projections::usage::clear()});
    if (!folded.empty()) write_projections(connection, folded, usage);
    connection.exec({"", "COMMIT", {}});
    return static_cast<int64_t>(folded.size());
  } catch (...) {
    connection.rollback();
    throw;
  }
}

}  // namespace audit
