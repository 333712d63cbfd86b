// Ledger verification and projection replay (audit/verify.h).
#include "audit/verify.h"

#include <cassert>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/digest.h"
#include "ledger/account.h"
#include "ledger/store.h"
#include "ledger/time_format.h"
#include "projections/balances.h"
#include "projections/refund_references.h"
#include "projections/replay_lock.h"
#include "projections/reservations.h"
#include "projections/subscriptions.h"
#include "projections/usage.h"
#include "webhooks/inbox_reads.h"

namespace audit {
namespace {

// Events per page of the log scan.
constexpr int64_t kPageSize = 20'000;
// A chunk of folded accounts is compared (verify) or written (replay) once it holds 100
// accounts or 20,000 projection rows (balance, reservation and refund reference rows), so
// that long streams do not make one huge statement at the end.
constexpr std::size_t kChunkAccounts = 100;
constexpr std::size_t kChunkRows = 20'000;

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

// The projection rows one folded account stands for.
std::size_t projection_rows(const AccountState& state) {
  return 1 + state.reservations.size() + state.refund_references.size();
}

// Collects folded accounts into chunks of the size above.
class Chunk {
 public:
  // Adds `folded`; true when the chunk is full.
  bool add(FoldedAccount&& folded) {
    rows_ += projection_rows(folded.state);
    accounts_.push_back(std::move(folded));
    return accounts_.size() >= kChunkAccounts || rows_ >= kChunkRows;
  }
  // The accounts collected since the last take.
  std::vector<FoldedAccount> take() {
    rows_ = 0;
    return std::exchange(accounts_, {});
  }

 private:
  std::vector<FoldedAccount> accounts_;
  std::size_t rows_ = 0;
};

struct ScanProblem {
  std::string problem;
  std::string stream;
  int64_t version = 0;
};

// One page of the log in (stream, version) order, and for each event whether its stored hash
// is the hash of its bytes chained to the event before it in the page's order (the previous
// page's last event for the first), or to the zero hash when that event is of another
// stream: the reader thread checks the chain, the caller checks the versions.
struct Page {
  std::vector<StoredEvent> events;
  std::vector<char> chained;  // per event: 1 when its hash chains
};

// Whether the stored hash of `event` is the hash of its bytes chained to `previous_hash`.
bool chains_to(const std::string& previous_hash, const StoredEvent& event) {
  return crypto::constant_time_equal(ledger::event_hash(previous_hash, event), event.hash);
}

// Checks that `event` follows `folded` (its version; `chained`, the page's verdict on its
// hash) and folds it in; the problem otherwise. Given the version check, the event before it
// in the scan is the one `folded` last took, so `chained` is the check of its hash against
// folded's last hash.
std::optional<ScanProblem> check_and_fold(FoldedAccount& folded, const StoredEvent& event,
                                          bool chained) {
  AccountState& state = folded.state;
  if (event.stream_version != state.version + 1) {
    return ScanProblem{"stream version gap: expected " + std::to_string(state.version + 1),
                       event.stream_id, event.stream_version};
  }
  if (!chained) {
    return ScanProblem{"hash chain broken: the event's stored bytes or hash were altered",
                       event.stream_id, event.stream_version};
  }
  const std::optional<ledger::EventBody> body =
      ledger::decode_event(event.event_type, event.payload);
  if (!body || !ledger::fold_event(state, event, *body)) {
    return ScanProblem{
        "event does not decode or cannot follow the stream's state (" + event.event_type + ")",
        event.stream_id, event.stream_version};
  }
  if (std::holds_alternative<ledger::ReservationCaptured>(*body)) {
    projections::usage::count(state, *body, event.recorded_at_us, folded.usage);
  }
  return std::nullopt;
}

// The log's pages in (stream, version) order, read by a thread of their own on a second
// connection that shares the caller's snapshot (pg_export_snapshot): PostgreSQL reads and
// sends the log in one COPY while this reader parses page n and checks its hash chain, and
// the caller folds the page before and talks to the database on its own connection. At most
// kPagesAhead parsed pages wait; their storage goes round (a page's strings are overwritten in
// place, not allocated again).
class PageReader {
 public:
  static constexpr std::size_t kPagesAhead = 2;

  PageReader(pg::ConnectionOptions options, std::string snapshot)
      : thread_([this, options = std::move(options), snapshot = std::move(snapshot)] {
          read_all(options, snapshot);
        }) {}
  ~PageReader() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  PageReader(const PageReader&) = delete;
  PageReader& operator=(const PageReader&) = delete;

  // The next page into `page` (its old storage goes back to the reader); false after the
  // last one. Rethrows what stopped the reader.
  bool next(Page& page) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !ready_.empty() || finished_; });
    if (ready_.empty()) {
      if (failure_) std::rethrow_exception(failure_);
      return false;
    }
    spare_.push_back(std::move(page));
    page = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return true;
  }

 private:
  void read_all(pg::ConnectionOptions options, const std::string& snapshot) {
    try {
      // The COPY lasts as long as the scan: no statement timeout (the socket waits keep
      // theirs).
      options.statement_timeout_ms = 0;
      pg::Connection connection(std::move(options));
      connection.pipeline(
          std::vector<pg::Statement>{{"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}},
                                     {"", "SET TRANSACTION SNAPSHOT '" + snapshot + "'", {}},
                                     ledger::log_copy_setup()});
      // One COPY of the whole log: the server reads and sends while this thread parses and
      // checks, up to what the socket buffers hold ahead.
      connection.start_copy_out(ledger::log_copy_sql());
      std::string chain_stream;  // the last event checked, which the next one may chain to
      std::string chain_hash;
      for (bool more = true; more;) {
        Page page;
        {
          std::unique_lock lock(mutex_);
          changed_.wait(lock, [this] { return ready_.size() < kPagesAhead || stopping_; });
          if (stopping_) return;
          if (!spare_.empty()) {
            page = std::move(spare_.back());
            spare_.pop_back();
          }
        }
        std::size_t count = 0;  // the page's events: its strings are overwritten in place
        std::string_view row;
        while (count < static_cast<std::size_t>(kPageSize) &&
               (more = connection.next_copy_row(row))) {
          if (count == page.events.size()) page.events.emplace_back();
          ledger::parse_event(row, page.events[count++]);
        }
        page.events.resize(count);
        check_chain(page, chain_stream, chain_hash);
        if (!page.events.empty()) {
          chain_stream = page.events.back().stream_id;
          chain_hash = page.events.back().hash;
        }
        {
          const std::lock_guard lock(mutex_);
          if (!page.events.empty()) ready_.push_back(std::move(page));
          if (!more) finished_ = true;
        }
        changed_.notify_all();
      }
      connection.exec({"", "COMMIT", {}});
    } catch (...) {
      {
        const std::lock_guard lock(mutex_);
        failure_ = std::current_exception();
        finished_ = true;
      }
      changed_.notify_all();
    }
  }

  // Fills page.chained. `stream` and `hash` are those of the event before the page's first
  // ("" for none).
  static void check_chain(Page& page, const std::string& stream, const std::string& hash) {
    static const std::string kZeroHash = ledger::empty_account("").last_hash;
    page.chained.resize(page.events.size());
    const std::string* previous_stream = &stream;
    const std::string* previous_hash = &hash;
    bool has_previous = !stream.empty();
    for (std::size_t i = 0; i < page.events.size(); ++i) {
      const StoredEvent& event = page.events[i];
      const bool same_stream = has_previous && event.stream_id == *previous_stream;
      const std::string& chained_to = same_stream ? *previous_hash : kZeroHash;
      page.chained[i] = chains_to(chained_to, event);
      previous_stream = &event.stream_id;
      previous_hash = &event.hash;
      has_previous = true;
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Page> ready_;
  std::vector<Page> spare_;
  bool finished_ = false;
  bool stopping_ = false;
  std::exception_ptr failure_;
  std::thread thread_;  // last: starts once the members above exist
};

// The caller's snapshot, for a second connection (SET TRANSACTION SNAPSHOT); valid while
// the caller's transaction stays open.
std::string export_snapshot(pg::Connection& connection) {
  std::string snapshot = connection.exec({"", "SELECT pg_export_snapshot()", {}}).string(0, 0);
  // SET TRANSACTION SNAPSHOT takes no parameter: the id goes into its text, so it must be
  // what PostgreSQL prints (hex digits and dashes).
  if (snapshot.empty() ||
      snapshot.find_first_not_of("0123456789ABCDEFabcdef-") != std::string::npos) {
    throw std::runtime_error("unexpected snapshot id from pg_export_snapshot");
  }
  return snapshot;
}

// Folds the whole log one stream after another, read by a PageReader in the snapshot of the
// caller's open transaction, checking versions, the hash chain, every fold and the
// invariants; `on_account` receives each stream once folded and may use the caller's
// connection meanwhile. Memory: one stream's state and a few pages (the callers batch what
// they keep). Returns the first problem, or nullopt.
std::optional<ScanProblem> scan_log(pg::Connection& connection, int64_t& events_checked,
                                    const std::function<void(FoldedAccount&&)>& on_account) {
  PageReader reader(connection.options(), export_snapshot(connection));
  std::optional<FoldedAccount> current;
  const auto finish = [&]() -> std::optional<ScanProblem> {
    if (!current) return std::nullopt;
    if (!ledger::full_invariants_hold(current->state)) {
      return ScanProblem{"balance invariants do not hold after the fold",
                         current->state.account_id, current->state.version};
    }
    on_account(std::move(*current));
    current.reset();
    return std::nullopt;
  };
  Page page;
  while (reader.next(page)) {
    for (std::size_t i = 0; i < page.events.size(); ++i) {
      const StoredEvent& event = page.events[i];
      if (!current || current->state.account_id != event.stream_id) {
        if (auto problem = finish()) return problem;
        current = FoldedAccount{ledger::empty_account(event.stream_id), {}};
      }
      if (auto problem = check_and_fold(*current, event, page.chained[i] != 0)) return problem;
      ++events_checked;
    }
  }
  return finish();
}

// The projection rows of a chunk's accounts, loaded through the gateways (one round trip).
struct Projected {
  ledger::AccountStates states;
  projections::usage::AccountsUsage usage;
  // The reservation rows equal the folded reservations (reservations::rows_match), checked
  // as they were read: `states` hold no reservations then.
  bool reservations_match = false;
};

Projected load_projected(pg::Connection& connection, const std::vector<FoldedAccount>& chunk) {
  std::vector<std::string> ids;
  std::vector<const AccountState*> folded;
  Projected projected;
  for (const FoldedAccount& account : chunk) {
    const std::string& id = account.state.account_id;
    ids.push_back(id);
    folded.push_back(&account.state);
    projected.states.emplace(id, ledger::empty_account(id));
  }
  const std::vector<pg::Statement> statements = {
      projections::balances::load(ids),       projections::reservations::load_accounts(ids),
      projections::subscriptions::load(ids),  projections::refund_references::load_accounts(ids),
      projections::usage::load_accounts(ids),
  };
  const std::vector<pg::Result> results = connection.pipeline(statements);
  projections::balances::apply(results[0], projected.states);
  projected.reservations_match = projections::reservations::rows_match(results[1], folded);
  if (!projected.reservations_match) {
    projections::reservations::apply(results[1], projected.states);
  }
  projections::subscriptions::apply(results[2], projected.states);
  projections::refund_references::apply(results[3], projected.states);
  projected.usage = projections::usage::apply(results[4]);
  return projected;
}

// "" or the first difference of an account's projection rows from its fold; the reservations
// are compared unless `reservations_match` says they were.
std::string compare_projection(const AccountState& projected, const AccountState& folded,
                               bool reservations_match) {
  if (std::string difference = projections::balances::difference(projected, folded);
      !difference.empty()) {
    return difference;
  }
  if (!reservations_match) {
    if (std::string difference = projections::reservations::difference(projected, folded);
        !difference.empty()) {
      return difference;
    }
  }
  if (std::string difference = projections::refund_references::difference(projected, folded);
      !difference.empty()) {
    return difference;
  }
  return projections::subscriptions::difference(projected, folded);
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

// Waits for the reservation rows send_projections() sent last, if any (throws as
// pg::Connection::receive_copy does).
void receive_projections(pg::Connection& connection) {
  if (connection.awaiting_copy()) connection.receive_copy();
}

// Writes one chunk of folded accounts through the gateways (the caller holds the locks):
// the balance, subscription, refund-reference and usage rows in one round trip, then the
// reservation rows, the bulk of them, by a binary COPY that is not waited for: the scan
// folds the next chunk while the server writes them. Waits for the previous chunk's COPY
// first; the caller receives the last chunk's (receive_projections).
void send_projections(pg::Connection& connection, std::vector<FoldedAccount>&& chunk) {
  receive_projections(connection);
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
  bool reserved = false;
  std::vector<projections::refund_references::Key> reference_keys;
  for (const auto& [id, state] : folded) {
    accounts.push_back(&state);
    if (!state.subscription.subscription_id.empty()) subscribed.push_back(&state);
    reserved = reserved || !state.reservations.empty();
    for (const auto& [reference, amount] : state.refund_references) {
      reference_keys.emplace_back(id, reference);
    }
  }
  std::vector<pg::Statement> statements = {projections::balances::write(accounts, now_us)};
  if (!subscribed.empty()) {
    statements.push_back(projections::subscriptions::write(subscribed, now_us));
  }
  if (!reference_keys.empty()) {
    statements.push_back(projections::refund_references::write(reference_keys, folded));
  }
  if (!usage.empty()) statements.push_back(projections::usage::add(usage));
  connection.pipeline(statements);
  if (reserved) {
    pg::CopyIn rows = projections::reservations::copy_rows(accounts);
    connection.send_copy(rows);
  }
}

// Compares a chunk of folded accounts with their projection rows; "" or the first mismatch
// (its account in `account`).
std::string compare_chunk(pg::Connection& connection, const std::vector<FoldedAccount>& chunk,
                          std::string& account, int64_t& version) {
  const Projected projected = load_projected(connection, chunk);
  for (const FoldedAccount& folded : chunk) {
    const std::string& id = folded.state.account_id;
    std::string mismatch =
        compare_projection(projected.states.at(id), folded.state, projected.reservations_match);
    if (mismatch.empty()) {
      const auto it = projected.usage.find(id);
      mismatch = projections::usage::difference(
          it == projected.usage.end() ? projections::usage::Usage{} : it->second, folded.usage);
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
  // false mismatch. It is taken after the projection tables' lock: a replay running now
  // commits first (projections/replay_lock.h).
  connection.exec({"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}});
  std::optional<ScanProblem> problem;
  std::string mismatch;
  std::string mismatch_account;
  int64_t mismatch_version = 0;
  std::vector<std::string> orphans;
  try {
    connection.exec(projections::lock_for_snapshot_read());
    Chunk chunk;
    const auto compare = [&] {
      const std::vector<FoldedAccount> accounts = chunk.take();
      if (mismatch.empty() && !accounts.empty()) {
        mismatch = compare_chunk(connection, accounts, mismatch_account, mismatch_version);
      }
      report.streams_checked += static_cast<int64_t>(accounts.size());
      if (progress) progress(report.streams_checked, report.events_checked);
    };
    problem = scan_log(connection, report.events_checked, [&](FoldedAccount&& folded) {
      if (chunk.add(std::move(folded))) compare();
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
    connection.exec(projections::lock_for_snapshot_read());  // see verify_ledger
    FoldedAccount folded{ledger::empty_account(account_id), {}};
    for (;;) {
      const std::vector<StoredEvent> page =
          ledger::read_stream(connection, account_id, folded.state.version, kPageSize);
      for (const StoredEvent& event : page) {
        problem = check_and_fold(folded, event, chains_to(folded.state.last_hash, event));
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
  // The locks (projections/replay_lock.h) block every committer's appends until the rewrite
  // commits, and the scan reads in a snapshot this transaction exports after taking them:
  // nothing committed after the fold can be overwritten by it. The projection tables are
  // emptied with TRUNCATE, so the rewrite inserts into empty tables and indexes.
  connection.exec({"", "BEGIN", {}});
  try {
    std::vector<pg::Statement> statements = projections::lock_for_rebuild();  // locks first
    for (pg::Statement clear :
         {projections::refund_references::clear(), projections::subscriptions::clear(),
          projections::reservations::clear(), projections::balances::clear(),
          projections::usage::clear()}) {
      statements.push_back(std::move(clear));
    }
    connection.pipeline(statements);
    int64_t streams = 0;
    int64_t events = 0;
    Chunk chunk;
    const std::optional<ScanProblem> problem =
        scan_log(connection, events, [&](FoldedAccount&& folded) {
          ++streams;
          if (chunk.add(std::move(folded))) {
            send_projections(connection, chunk.take());
            if (progress) progress(streams, events);
          }
        });
    if (problem) {
      throw std::runtime_error("cannot replay " + problem->stream + " at version " +
                               std::to_string(problem->version) + ": " + problem->problem);
    }
    send_projections(connection, chunk.take());
    receive_projections(connection);
    if (progress) progress(streams, events);
    connection.exec({"", "COMMIT", {}});
    return streams;
  } catch (...) {
    try {
      receive_projections(connection);  // the connection must be free to roll back
    } catch (const pg::Error&) {
      // the first error is the one that propagates
    }
    connection.rollback();
    throw;
  }
}

}  // namespace audit
