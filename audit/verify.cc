// Ledger verification and projection replay (audit/verify.h).
#include "audit/verify.h"

#include <cassert>
#include <functional>
#include <span>
#include <optional>
#include <stdexcept>
#include <vector>

#include "crypto/digest.h"
#include "ledger/account.h"
#include "ledger/store.h"
#include "ledger/time_format.h"
#include "projections/usage.h"
#include "projections/balances.h"
#include "projections/refund_references.h"
#include "projections/replay_lock.h"
#include "projections/reservations.h"
#include "projections/subscriptions.h"
#include "webhooks/inbox_reads.h"

namespace audit {
namespace {

// Events per page of the log scan.
constexpr int64_t kPageSize = 5'000;
// Accounts per projection load (verify) and write (replay): what the scan keeps in memory.
constexpr std::size_t kChunkAccounts = 100;

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

// One folded stream: its state and what its captures spent.
struct FoldedAccount {
  AccountState state;
  projections::usage::Usage usage;
};

struct ScanProblem {
  std::string problem;
  std::string stream;
  int64_t version = 0;
};

// Checks that `event` follows `folded` (version, hash chain) and folds it in; the problem
// otherwise.
std::optional<ScanProblem> check_and_fold(FoldedAccount& folded, const StoredEvent& event) {
  AccountState& state = folded.state;
  if (event.stream_version != state.version + 1) {
    return ScanProblem{"stream version gap: expected " + std::to_string(state.version + 1),
                       event.stream_id, event.stream_version};
  }
  if (!crypto::constant_time_equal(ledger::event_hash(state.last_hash, event), event.hash)) {
    return ScanProblem{"hash chain broken: the event's stored bytes or hash were altered",
                       event.stream_id, event.stream_version};
  }
  if (!ledger::fold_event(state, event)) {
    return ScanProblem{
        "event does not decode or cannot follow the stream's state (" + event.event_type + ")",
        event.stream_id, event.stream_version};
  }
  if (event.event_type == "ReservationCaptured") {  // decoded again only for these
    if (const auto body = ledger::decode_event(event.event_type, event.payload)) {
      projections::usage::count(state, *body, event.recorded_at_us, folded.usage);
    }
  }
  return std::nullopt;
}

// Gives a scan's callback the connection: receives the page the scan has in flight first
// (the scan keeps it), so that the callback may run its own statements.
using UseConnection = std::function<pg::Connection&()>;

// Folds the whole log one stream after another, reading it in pages of kPageSize events in
// (stream, version) order inside the caller's transaction, checking versions, the hash
// chain, every fold and the invariants; `on_account` receives each stream once folded.
// The next page is asked for as soon as the current one is in, so the server reads it while
// this thread folds; a callback that needs the connection takes it through its UseConnection.
// Memory: one stream's state and two pages at a time (the callers batch what they keep).
// Returns the first problem, or nullopt; the connection is the caller's again either way.
std::optional<ScanProblem> scan_log(
    pg::Connection& connection, int64_t& events_checked,
    const std::function<void(FoldedAccount&&, const UseConnection&)>& on_account) {
  bool in_flight = false;
  std::optional<std::vector<StoredEvent>> received_early;
  const auto ask_after = [&](const std::string& stream, int64_t version) {
    const pg::Statement page = ledger::log_after_statement(stream, version, kPageSize);
    connection.send_pipeline(std::span<const pg::Statement>(&page, 1));
    in_flight = true;
  };
  const auto receive_page = [&] {
    assert(in_flight);
    in_flight = false;
    return ledger::parse_events(connection.receive_pipeline().front());
  };
  const UseConnection use_connection = [&]() -> pg::Connection& {
    if (in_flight) received_early = receive_page();
    return connection;
  };
  std::optional<FoldedAccount> current;
  const auto finish = [&]() -> std::optional<ScanProblem> {
    if (!current) return std::nullopt;
    if (!ledger::full_invariants_hold(current->state)) {
      return ScanProblem{"balance invariants do not hold after the fold",
                         current->state.account_id, current->state.version};
    }
    on_account(std::move(*current), use_connection);
    current.reset();
    return std::nullopt;
  };
  const auto fold_page = [&](const std::vector<StoredEvent>& events) -> std::optional<ScanProblem> {
    for (const StoredEvent& event : events) {
      if (!current || current->state.account_id != event.stream_id) {
        if (auto problem = finish()) return problem;
        current = FoldedAccount{ledger::empty_account(event.stream_id), {}};
      }
      if (auto problem = check_and_fold(*current, event)) return problem;
      ++events_checked;
    }
    return std::nullopt;
  };
  ask_after("", 0);
  for (;;) {
    std::vector<StoredEvent> events;
    if (received_early) {
      events = std::move(*received_early);
      received_early.reset();
    } else {
      events = receive_page();
    }
    const bool last_page = static_cast<int64_t>(events.size()) < kPageSize;
    if (!last_page) ask_after(events.back().stream_id, events.back().stream_version);
    std::optional<ScanProblem> problem = fold_page(events);
    if (!problem && last_page) problem = finish();
    if (problem || last_page) {
      if (in_flight) receive_page();  // the connection is the caller's again
      return problem;
    }
  }
}

// The projection rows of the accounts, loaded through the gateways (one round trip).
std::pair<ledger::AccountStates, projections::usage::AccountsUsage> load_projected(
    pg::Connection& connection, const std::vector<std::string>& account_ids) {
  ledger::AccountStates states;
  for (const std::string& id : account_ids) states.emplace(id, ledger::empty_account(id));
  const std::vector<pg::Statement> statements = {
      projections::balances::load(account_ids),
      projections::reservations::load_accounts(account_ids),
      projections::subscriptions::load(account_ids),
      projections::refund_references::load_accounts(account_ids),
      projections::usage::load_accounts(account_ids),
  };
  const std::vector<pg::Result> results = connection.pipeline(statements);
  projections::balances::apply(results[0], states);
  projections::reservations::apply(results[1], states);
  projections::subscriptions::apply(results[2], states);
  projections::refund_references::apply(results[3], states);
  return {std::move(states), projections::usage::apply(results[4])};
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

// Writes one chunk of folded accounts through the gateways (the caller holds the locks).
void write_projections(pg::Connection& connection, std::vector<FoldedAccount>&& chunk) {
  if (chunk.empty()) return;
  const int64_t now_us = ledger::unix_now_us();
  // The states move into the map the reservation and reference writers read by account id.
  ledger::AccountStates folded;
  projections::usage::AccountsUsage usage;
  for (FoldedAccount& account : chunk) {
    if (!account.usage.empty()) usage.emplace(account.state.account_id, std::move(account.usage));
    const std::string id = account.state.account_id;
    folded.emplace(id, std::move(account.state));
  }
  chunk.clear();
  std::vector<const AccountState*> accounts;
  std::vector<const AccountState*> subscribed;
  std::vector<projections::reservations::Key> reservation_keys;
  std::vector<projections::refund_references::Key> reference_keys;
  for (const auto& [id, state] : folded) {
    accounts.push_back(&state);
    if (!state.subscription.subscription_id.empty()) subscribed.push_back(&state);
    for (const auto& [reservation_id, reservation] : state.reservations) {
      reservation_keys.emplace_back(id, reservation_id);
    }
    for (const auto& [reference, amount] : state.refund_references) {
      reference_keys.emplace_back(id, reference);
    }
  }
  std::vector<pg::Statement> statements = {projections::balances::write(accounts, now_us)};
  if (!subscribed.empty()) {
    statements.push_back(projections::subscriptions::write(subscribed, now_us));
  }
  if (!reservation_keys.empty()) {
    statements.push_back(projections::reservations::write(reservation_keys, folded));
  }
  if (!reference_keys.empty()) {
    statements.push_back(projections::refund_references::write(reference_keys, folded));
  }
  if (!usage.empty()) statements.push_back(projections::usage::add(usage));
  connection.pipeline(statements);
}

// Compares a chunk of folded accounts with their projection rows; "" or the first mismatch
// (its account in `account`).
std::string compare_chunk(pg::Connection& connection, const std::vector<FoldedAccount>& chunk,
                          std::string& account, int64_t& version) {
  std::vector<std::string> ids;
  for (const FoldedAccount& folded : chunk) ids.push_back(folded.state.account_id);
  const auto [projected, usage] = load_projected(connection, ids);
  for (const FoldedAccount& folded : chunk) {
    const std::string& id = folded.state.account_id;
    std::string mismatch = compare_projection(projected.at(id), folded.state);
    if (mismatch.empty()) {
      const auto it = usage.find(id);
      mismatch = projections::usage::difference(
          it == usage.end() ? projections::usage::Usage{} : it->second, folded.usage);
    }
    if (!mismatch.empty()) {
      account = id;
      version = folded.state.version;
      return mismatch;
    }
  }
  return "";
}

}  // namespace

VerifyReport verify_ledger(pg::Connection& connection, const VerifyProgress& progress) {
  VerifyReport report;
  if (auto problem = check_immutability_guards(connection); !problem.empty()) {
    return fail(report, problem);
  }
  // One snapshot for the whole log and every projection row: a commit meanwhile is never a
  // false mismatch.
  connection.exec({"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}});
  std::optional<ScanProblem> problem;
  std::string mismatch;
  std::string mismatch_account;
  int64_t mismatch_version = 0;
  std::vector<std::string> orphans;
  try {
    std::vector<FoldedAccount> chunk;
    const auto compare = [&] {
      if (mismatch.empty() && !chunk.empty()) {
        mismatch = compare_chunk(connection, chunk, mismatch_account, mismatch_version);
      }
      report.streams_checked += static_cast<int64_t>(chunk.size());
      chunk.clear();
      if (progress) progress(report.streams_checked, report.events_checked);
    };
    problem = scan_log(connection, report.events_checked,
                       [&](FoldedAccount&& folded, const UseConnection& use_connection) {
                         chunk.push_back(std::move(folded));
                         if (chunk.size() >= kChunkAccounts) {
                           use_connection();
                           compare();
                         }
                       });
    if (!problem) compare();
    if (!problem && mismatch.empty()) orphans = projections::balances::read_orphans(connection, 1);
  } catch (...) {
    connection.rollback();
    throw;
  }
  connection.exec({"", "COMMIT", {}});
  if (problem) return fail(report, problem->problem, problem->stream, problem->version);
  if (!mismatch.empty()) return fail(report, mismatch, mismatch_account, mismatch_version);
  if (!orphans.empty()) return fail(report, "balance projection row without events", orphans[0]);
  return report;
}

VerifyReport verify_stream(pg::Connection& connection, const std::string& account_id) {
  VerifyReport report;
  connection.exec({"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}});
  std::optional<ScanProblem> problem;
  std::string mismatch;
  int64_t mismatch_version = 0;
  try {
    FoldedAccount folded{ledger::empty_account(account_id), {}};
    for (;;) {
      const std::vector<StoredEvent> page =
          ledger::read_stream(connection, account_id, folded.state.version, kPageSize);
      for (const StoredEvent& event : page) {
        problem = check_and_fold(folded, event);
        if (problem) break;
        ++report.events_checked;
      }
      if (problem || static_cast<int64_t>(page.size()) < kPageSize) break;
    }
    if (!problem && folded.state.version > 0) {
      report.streams_checked = 1;
      if (!ledger::full_invariants_hold(folded.state)) {
        problem = ScanProblem{"balance invariants do not hold after the fold", account_id,
                              folded.state.version};
      } else {
        std::string ignored;
        mismatch = compare_chunk(connection, {folded}, ignored, mismatch_version);
      }
    }
  } catch (...) {
    connection.rollback();
    throw;
  }
  connection.exec({"", "COMMIT", {}});
  if (problem) return fail(report, problem->problem, problem->stream, problem->version);
  if (!mismatch.empty()) return fail(report, mismatch, account_id, mismatch_version);
  return report;
}

int64_t replay_projections(pg::Connection& connection, const VerifyProgress& progress) {
  // EXCLUSIVE on the event log blocks every committer's INSERT (ROW EXCLUSIVE) until the
  // rewrite commits, and the fold reads inside the same transaction: nothing committed
  // after the fold can be overwritten by it.
  connection.pipeline(
      std::vector<pg::Statement>{{"", "BEGIN", {}}, projections::lock_against_appends()});
  try {
    connection.pipeline(std::vector<pg::Statement>{
        projections::refund_references::clear(), projections::subscriptions::clear(),
        projections::reservations::clear(), projections::balances::clear(),
        projections::usage::clear()});
    int64_t streams = 0;
    int64_t events = 0;
    std::vector<FoldedAccount> chunk;
    const std::optional<ScanProblem> problem =
        scan_log(connection, events, [&](FoldedAccount&& folded, const UseConnection& use_connection) {
          chunk.push_back(std::move(folded));
          ++streams;
          if (chunk.size() >= kChunkAccounts) {
            write_projections(use_connection(), std::move(chunk));
            if (progress) progress(streams, events);
          }
        });
    if (problem) {
      throw std::runtime_error("cannot replay " + problem->stream + " at version " +
                               std::to_string(problem->version) + ": " + problem->problem);
    }
    write_projections(connection, std::move(chunk));
    if (progress) progress(streams, events);
    connection.exec({"", "COMMIT", {}});
    return streams;
  } catch (...) {
    connection.rollback();
    throw;
  }
}

}  // namespace audit
