// The laned batching committer (ledger/committer.h).
//
// A lane batch is one transaction in two round trips:
//   1. BEGIN; lock the batch's accounts (pg_try_advisory_xact_lock on
//      hashtextextended(account id, 0), in that order) and read the clock; load the balance and
//      idempotency rows of the batch, and the reservation, subscription (billing events
//      only) and refund-reference rows its commands name.
//   2. Append events; upsert balances, reservations and subscriptions; insert refund
//      references, outbox and idempotency rows; COMMIT.
// Between them every command is decided in memory (ledger/commands.h). A command whose
// account lock another process holds is deferred to a later batch (backoff up to 20 ms)
// instead of stalling the lane; a command whose deadline passed before its decision is
// dropped unwritten.
//
// Failures: a lost connection or a transient error (serialization, deadlock, timeouts)
// retries the batch (idempotency records make a retry after an in-doubt COMMIT safe); a
// constraint violation is isolated by bisecting the batch by account, so only the accounts
// that cause it fail; any other error fails the batch, writing nothing.
#include "ledger/committer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/digest.h"
#include "ledger/backoff.h"
#include "ledger/idempotency.h"
#include "ledger/outbox.h"
#include "ledger/pg.h"
#include "ledger/sql_text.h"
#include "ledger/store.h"
#include "projections/balances.h"
#include "projections/refund_references.h"
#include "projections/reservations.h"
#include "projections/subscriptions.h"
#include "projections/usage.h"
#include "unicode/utf8.h"

namespace ledger {
namespace {

using Clock = Committer::Clock;
namespace reservations = projections::reservations;
namespace refund_references = projections::refund_references;

// A command's Completion, called once at most: a second call does nothing. One destroyed
// uncalled (a path that forgot its command: a bug) answers as a dropped std::promise would,
// with broken_promise, so that no submitter waits forever. An exception of the completion
// is logged and goes no further: the lane goes on with the batch's other commands.
class CompletionOnce {
 public:
  CompletionOnce() = default;
  explicit CompletionOnce(Committer::Completion done) : done_(std::move(done)) {}
  CompletionOnce(CompletionOnce&& other) noexcept : done_(std::exchange(other.done_, nullptr)) {}
  CompletionOnce& operator=(CompletionOnce&& other) noexcept {
    if (this != &other) {
      abandon();
      done_ = std::exchange(other.done_, nullptr);
    }
    return *this;
  }
  ~CompletionOnce() { abandon(); }

  void succeed(Outcome outcome) noexcept { call(std::move(outcome), nullptr); }
  void fail(std::exception_ptr error) noexcept { call(Outcome{}, error); }

 private:
  void call(Outcome outcome, std::exception_ptr error) noexcept {
    if (!done_) return;
    try {
      std::exchange(done_, nullptr)(std::move(outcome), error);
    } catch (const std::exception& thrown) {
      spdlog::error("a command's completion threw: {}", thrown.what());
    } catch (...) {
      spdlog::error("a command's completion threw");
    }
  }
  void abandon() noexcept {
    if (done_) fail(std::make_exception_ptr(std::future_error(std::future_errc::broken_promise)));
  }

  Committer::Completion done_;
};

struct Pending {
  Command command;
  std::string fingerprint;
  CompletionOnce done;
  Clock::time_point deadline = Committer::kNoDeadline;
  int deferrals = 0;       // batches that could not lock the account (another process held it)
  bool in_doubt = false;   // an attempt's COMMIT may have landed: only the database knows
};

const std::string* named_reservation(const CommandBody& body) {
  if (auto* c = std::get_if<ReserveCredits>(&body)) return &c->reservation_id;
  if (auto* c = std::get_if<CaptureReservation>(&body)) return &c->reservation_id;
  if (auto* c = std::get_if<ReleaseReservation>(&body)) return &c->reservation_id;
  if (auto* c = std::get_if<ExpireReservation>(&body)) return &c->reservation_id;
  return nullptr;
}

// Billing and Churnkey commands read the subscription projection and may change it; no
// other command touches it.
bool reads_subscription(const CommandBody& body) {
  return std::holds_alternative<StripeBillingEvent>(body) ||
         std::holds_alternative<ChurnkeySessionEvent>(body);
}

// The rows one batch writes, collected while its commands are decided.
struct BatchWrites {
  std::vector<StoredEvent> events;
  std::set<std::string> balances;
  std::set<reservations::Key> reservations;
  std::set<std::string> subscriptions;
  std::vector<refund_references::Key> refund_references;
  projections::usage::AccountsUsage usage;  // the batch's captures, to add
  std::vector<OutboxRow> outbox;
  std::vector<idempotency::Key> idempotency;
};

// What round trip 1 learned.
struct Loaded {
  std::set<std::string> locked;  // accounts whose advisory lock this transaction holds
  int64_t now_us = 0;            // the database clock after the locks were taken
};

// What one attempt did with each command of its batch.
struct AttemptResult {
  std::vector<std::pair<std::size_t, Outcome>> decided;  // batch index, outcome
  std::vector<std::size_t> deferred;                      // lock held elsewhere
  std::vector<std::size_t> dropped;                       // deadline passed, not written
  std::vector<std::size_t> unwritten;                     // resolve mode: no record found
};

void fail(Pending& pending, std::exception_ptr error) { pending.done.fail(error); }

template <typename Exception>
void fail_all(std::vector<Pending>& batch, const char* message) {
  for (Pending& pending : batch) fail(pending, std::make_exception_ptr(Exception(message)));
}

// Every statement of a lane is a lookup or an insert by key. A plan made while a table was
// small (a hash join over a sequential scan) must not stay cached while the table grows to
// millions of rows: lanes plan once, generically, and never scan or hash a ledger table.
pg::ConnectionOptions lane_connection_options(const CommitterOptions& options) {
  pg::ConnectionOptions connection{options.database_url, options.statement_timeout_ms,
                                   options.io_timeout_ms};
  connection.settings = {{"plan_cache_mode", "force_generic_plan"},
                         {"enable_seqscan", "off"},
                         {"enable_hashjoin", "off"},
                         {"enable_mergejoin", "off"}};
  return connection;
}

// Backoff before the next attempt of a failed batch: 20, 40, ... ms, at most 1 s.
std::chrono::milliseconds retry_backoff(int attempt) {
  return std::chrono::milliseconds(exponential_backoff(10, attempt, 1'000));
}

// How long a command whose account lock was busy waits before its next batch.
std::chrono::microseconds deferral_backoff(int deferrals) {
  return std::chrono::microseconds(exponential_backoff(500, deferrals, 20'000));
}

class Lane {
 public:
  Lane(std::size_t index, const CommitterOptions& options, const PlanCatalog& plans,
       const CommitterObserver& observer, std::size_t capacity)
      : index_(index), options_(options), plans_(plans), observer_(observer), capacity_(capacity) {
    connect();  // fail fast at start when the database is unreachable
    thread_ = std::thread([this] { run(); });
  }

  ~Lane() { stop(); }

  // Queues `pending`; false (untouched) when the lane is full or stopping.
  bool enqueue(Pending& pending) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() + deferred_.size() >= capacity_) return false;
      queue_.push_back(std::move(pending));
      wake = queue_.size() >= wake_depth_;
    }
    if (wake) changed_.notify_one();
    return true;
  }

  // Stops admitting, decides everything queued, ends the thread.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::size_t depth() const {
    std::lock_guard lock(mutex_);
    return queue_.size() + deferred_.size();
  }

  CommitterStats stats() const {
    return {batches_.load(), decided_.load(), round_trips_.load()};
  }

 private:
  void connect() {
    try {
      connection_ = std::make_unique<pg::Connection>(lane_connection_options(options_));
      round_trips_counted_ = connection_->round_trips();  // session setup is not a batch's
    } catch (const pg::Error& error) {
      connection_.reset();
      throw LedgerUnavailable(std::string("cannot connect to the ledger database: ") +
                              error.what());
    }
  }

  void run() {
    for (;;) {
      std::vector<Pending> batch = next_batch();
      if (batch.empty()) return;  // stopping and drained
      process(std::move(batch));
    }
  }

  // Waits for work; takes deferred commands that are due first, then queued ones.
  std::vector<Pending> next_batch() {
    std::unique_lock lock(mutex_);
    for (;;) {
      const Clock::time_point now = Clock::now();
      std::vector<Pending> batch;
      while (!deferred_.empty() && deferred_.front().first <= now &&
             batch.size() < options_.batch_max) {
        batch.push_back(std::move(deferred_.front().second));
        deferred_.pop_front();
      }
      while (!queue_.empty() && batch.size() < options_.batch_max) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (!batch.empty()) {
        gather(lock, batch, now);
        last_batch_size_ = batch.size();
        return batch;
      }
      if (stopping_ && queue_.empty() && deferred_.empty()) return batch;
      if (deferred_.empty()) {
        changed_.wait(lock);
      } else {
        changed_.wait_until(lock, deferred_.front().first);
      }
    }
  }

  // Callers whose outcomes the last batch fulfilled are resubmitting while the next batch is
  // taken: a batch smaller than the one before waits up to batch_gather_us for the queue to
  // make up the difference, so that more commands share one batch's round trips and WAL
  // flush. Never longer, never when the batch is as large, never while stopping.
  void gather(std::unique_lock<std::mutex>& lock, std::vector<Pending>& batch,
              Clock::time_point since) {
    const std::size_t target = std::min(last_batch_size_, options_.batch_max);
    if (options_.batch_gather_us <= 0 || batch.size() >= target || stopping_) return;
    wake_depth_ = target - batch.size();  // enqueue wakes this thread at that depth only
    changed_.wait_until(lock, since + std::chrono::microseconds(options_.batch_gather_us),
                        [&] { return stopping_ || queue_.size() >= wake_depth_; });
    wake_depth_ = 1;
    while (!queue_.empty() && batch.size() < options_.batch_max) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }

  void defer(Pending pending) {
    pending.deferrals += 1;
    const Clock::time_point due = Clock::now() + deferral_backoff(pending.deferrals);
    std::lock_guard lock(mutex_);
    // Deferred commands keep their order: due times only grow along the deque.
    deferred_.emplace_back(std::max(due, deferred_.empty() ? due : deferred_.back().first),
                           std::move(pending));
  }

  // Fails the commands whose deadline passed and that cannot have been committed.
  static void drop_overdue(std::vector<Pending>& batch) {
    const Clock::time_point now = Clock::now();
    std::erase_if(batch, [now](Pending& pending) {
      if (pending.in_doubt || pending.deadline > now) return false;
      fail(pending, std::make_exception_ptr(
                        LedgerDeadlineExceeded("the command's deadline passed before its turn")));
      return true;
    });
  }

  // Runs the batch to its end: every command is completed, or deferred. After
  // batch_attempts_max failed attempts, a batch whose last COMMIT was in doubt only learns
  // what landed (resolve mode), for at most in_doubt_resolve_ms.
  void process(std::vector<Pending> batch) {
    const Clock::time_point started = Clock::now();
    Clock::time_point resolving_since = Clock::time_point::min();
    for (int attempt = 1;; ++attempt) {
      drop_overdue(batch);
      if (batch.empty()) return;
      const bool resolve_only = attempt > options_.batch_attempts_max;
      bool commit_sent = false;
      std::string error_text;
      std::optional<AttemptResult> result;
      try {
        if (connection_ && !connection_->usable()) drop_connection();
        if (!connection_) connect();
        result = attempt_batch(batch, attempt, resolve_only, commit_sent);
        count_round_trips();
      } catch (const pg::Error& error) {
        error_text = error.what();
        if (observer_.on_database_error) observer_.on_database_error();
        // An error the server answered on a connection still open aborted the transaction:
        // nothing of the batch was written. Once the COMMIT was sent, any other ending
        // (the connection gone with it) may have committed, and goes the connection's way.
        const bool answered_refusal = !commit_sent || (connection_ && connection_->usable());
        if (error.kind() == pg::ErrorKind::kConstraint && answered_refusal) {
          rollback_quietly();
          isolate(std::move(batch), error_text);
          return;
        }
        if (error.kind() == pg::ErrorKind::kOther && answered_refusal) {
          rollback_quietly();
          spdlog::error("lane {}: batch of {} commands refused, nothing written: {}", index_,
                        batch.size(), error_text);
          fail_all<LedgerUnavailable>(batch, "the ledger database refused the batch");
          return;
        }
        if (error.kind() == pg::ErrorKind::kConnection || !answered_refusal) {
          drop_connection();
        } else {
          rollback_quietly();
        }
      } catch (const LedgerUnavailable& error) {
        error_text = error.what();  // reconnecting failed
      } catch (const std::exception& error) {
        if (commit_sent) {
          // Failed once the writes and COMMIT were queued (sending or awaiting the answer;
          // memory): the COMMIT may have landed.
          error_text = error.what();
          drop_connection();
        } else {
          // A stored row the code cannot read (e.g. a corrupt idempotency outcome).
          rollback_quietly();
          spdlog::error("lane {}: batch of {} commands failed, nothing written: {}", index_,
                        batch.size(), error.what());
          fail_all<LedgerUnavailable>(batch, "the ledger could not read its own rows");
          return;
        }
      }
      if (result) {
        // Outside the try: what the attempt decided is final whatever happens while its
        // completions run.
        finish(batch, std::move(*result), started);
        return;
      }
      if (commit_sent && connection_ == nullptr && !resolve_only) {
        for (Pending& pending : batch) pending.in_doubt = true;
      }
      spdlog::warn("lane {}: attempt {} of a batch of {} commands failed{}: {}", index_, attempt,
                   batch.size(), commit_sent ? " at commit" : "", error_text);
      if (!retry_allowed(attempt, resolving_since, batch)) return;
      std::this_thread::sleep_for(retry_backoff(attempt));
    }
  }

  // False after failing the batch: out of attempts with nothing in doubt, or in doubt for
  // longer than in_doubt_resolve_ms.
  bool retry_allowed(int attempt, Clock::time_point& resolving_since,
                     std::vector<Pending>& batch) {
    if (attempt < options_.batch_attempts_max) return true;
    const bool in_doubt = std::any_of(batch.begin(), batch.end(),
                                      [](const Pending& pending) { return pending.in_doubt; });
    if (!in_doubt) {
      spdlog::error("lane {}: batch of {} commands failed after {} attempts, nothing written",
                    index_, batch.size(), attempt);
      fail_all<LedgerUnavailable>(batch, "ledger database unavailable");
      return false;
    }
    if (resolving_since == Clock::time_point::min()) resolving_since = Clock::now();
    if (Clock::now() - resolving_since < std::chrono::milliseconds(options_.in_doubt_resolve_ms)) {
      return true;
    }
    spdlog::error("lane {}: the outcome of a batch of {} commands is unknown", index_,
                  batch.size());
    for (Pending& pending : batch) {
      fail(pending, pending.in_doubt
                        ? std::make_exception_ptr(
                              LedgerOutcomeUnknown("the outcome of the command is unknown"))
                        : std::make_exception_ptr(
                              LedgerUnavailable("ledger database unavailable")));
    }
    return false;
  }

  void rollback_quietly() {
    if (!connection_) return;
    try {
      connection_->rollback();
    } catch (const pg::Error&) {
      drop_connection();
      return;
    }
    count_round_trips();
  }

  // Adds the round trips of connection_ since the last count to the lane's total.
  void count_round_trips() {
    if (!connection_) return;
    round_trips_.fetch_add(connection_->round_trips() - round_trips_counted_);
    round_trips_counted_ = connection_->round_trips();
  }

  void drop_connection() {
    count_round_trips();
    connection_.reset();
  }

  // A constraint refused a row of the batch: the accounts' rows are inconsistent with the
  // decision (a projection edited behind the ledger, or a bug). Bisect by account until the
  // accounts that cause it are alone; every other command commits.
  void isolate(std::vector<Pending> batch, const std::string& error_text) {
    std::vector<std::string> accounts;
    for (const Pending& pending : batch) {
      if (std::find(accounts.begin(), accounts.end(), pending.command.account_id) ==
          accounts.end()) {
        accounts.push_back(pending.command.account_id);
      }
    }
    if (accounts.size() == 1) {
      spdlog::error("lane {}: the database refused the commands of account {}: {}", index_,
                    accounts.front(), error_text);
      fail_all<LedgerUnavailable>(batch, "the ledger database refused the command");
      return;
    }
    const std::set<std::string> first_half(accounts.begin(),
                                           accounts.begin() + accounts.size() / 2);
    std::vector<Pending> first;
    std::vector<Pending> second;
    for (Pending& pending : batch) {
      (first_half.count(pending.command.account_id) ? first : second)
          .push_back(std::move(pending));
    }
    process(std::move(first));
    process(std::move(second));
  }

  // One attempt. In resolve mode the locks are waited for (so that an in-doubt transaction of
  // this or another session has ended) and nothing is decided: a command with an idempotency
  // record gets its outcome, any other was not written.
  AttemptResult attempt_batch(std::vector<Pending>& batch, int attempt, bool resolve_only,
                              bool& commit_sent) {
    AccountStates states;
    idempotency::Records records;
    const Loaded loaded = lock_and_load(batch, resolve_only, states, records);
    const std::set<std::string>& locked = loaded.locked;
    assert(locked.empty() || loaded.now_us > 0);
    const int64_t now_us = loaded.now_us;
    AttemptResult result;
    BatchWrites writes;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Pending& pending = batch[i];
      if (!locked.count(pending.command.account_id)) {
        result.deferred.push_back(i);
        continue;
      }
      const idempotency::Key key{pending.command.account_id, pending.command.idempotency_key};
      if (auto stored = records.find(key); stored != records.end()) {
        result.decided.emplace_back(i, replay(stored->second, pending));
        continue;
      }
      if (resolve_only) {
        result.unwritten.push_back(i);
        continue;
      }
      pending.in_doubt = false;  // no record under the lock: no earlier attempt committed it
      if (pending.deadline <= Clock::now()) {
        result.dropped.push_back(i);
        continue;
      }
      result.decided.emplace_back(i, decide(pending, states, records, writes, now_us));
    }
    if (resolve_only) {
      rollback_quietly();  // what landed is known: whether this read-only end fails is moot
      return result;
    }
    std::vector<pg::Statement> statements = write_statements(writes, states, records, now_us);
    if (options_.before_commit_for_tests) {
      options_.before_commit_for_tests(attempt, connection_->backend_pid());
    }
    commit_sent = true;
    connection_->pipeline(statements);
    return result;
  }

  // Round trip 1: begin, lock (reading the clock after the locks), load every row the batch
  // names. Tables no command of the batch needs are not queried.
  Loaded lock_and_load(const std::vector<Pending>& batch, bool wait_for_every_lock,
                       AccountStates& states, idempotency::Records& records) {
    std::set<std::string> accounts_sorted;
    std::set<std::string> billed_accounts;  // accounts whose subscription row is read
    std::vector<reservations::Key> reservation_keys;
    std::vector<refund_references::Key> refund_keys;
    std::vector<idempotency::Key> idempotency_keys;
    for (const Pending& pending : batch) {
      const Command& command = pending.command;
      accounts_sorted.insert(command.account_id);
      states.emplace(command.account_id, empty_account(command.account_id));
      if (const std::string* id = named_reservation(command.body)) {
        reservation_keys.emplace_back(command.account_id, *id);
      }
      if (const auto* refund = std::get_if<RefundCredits>(&command.body)) {
        refund_keys.emplace_back(command.account_id, refund->reference);
      }
      if (const auto* billing = std::get_if<StripeBillingEvent>(&command.body);
          billing && !billing->payment_reference.empty()) {
        refund_keys.emplace_back(command.account_id,
                                 pack_reference_key(billing->payment_reference));
      }
      if (reads_subscription(command.body)) billed_accounts.insert(command.account_id);
      idempotency_keys.emplace_back(command.account_id, command.idempotency_key);
    }
    const std::vector<std::string> accounts(accounts_sorted.begin(), accounts_sorted.end());
    // Locks in hash order; tried without waiting (an account another process holds is
    // deferred), or waited for when resolving an in-doubt commit, which must outwait the
    // transaction that may still hold them.
    const pg::Statement lock =
        wait_for_every_lock
            ? pg::Statement{"committer_lock_wait",
                            "SELECT a, (extract(epoch from clock_timestamp()) * 1000000)::bigint"
                            " FROM (SELECT a, hashtextextended(a, 0) AS k"
                            " FROM unnest($1::text[]) AS x(a) ORDER BY k) s"
                            " CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(s.k)) l",
                            {sql::text_array(accounts)}}
            : pg::Statement{"committer_lock",
                            "SELECT a, (extract(epoch from clock_timestamp()) * 1000000)::bigint"
                            " FROM (SELECT a, hashtextextended(a, 0) AS k"
                            " FROM unnest($1::text[]) AS x(a) ORDER BY k) s"
                            " WHERE pg_try_advisory_xact_lock(k)",
                            {sql::text_array(accounts)}};
    std::vector<pg::Statement> statements = {
        {"", "BEGIN", {}},
        lock,
        projections::balances::load(accounts),
        idempotency::load(idempotency_keys),
    };
    if (!reservation_keys.empty()) statements.push_back(reservations::load(reservation_keys));
    if (!billed_accounts.empty()) {
      statements.push_back(projections::subscriptions::load({billed_accounts.begin(),
                                                             billed_accounts.end()}));
    }
    if (!refund_keys.empty()) statements.push_back(refund_references::load(refund_keys));
    const std::vector<pg::Result> results = connection_->pipeline(statements);
    Loaded loaded;
    for (int i = 0; i < results[1].rows(); ++i) {
      loaded.locked.insert(results[1].string(i, 0));
      // Each row's clock is read after its own lock: the last is after every lock.
      loaded.now_us = std::max(loaded.now_us, results[1].int64(i, 1));
    }
    projections::balances::apply(results[2], states);
    idempotency::apply(results[3], records);
    std::size_t next = 4;
    if (!reservation_keys.empty()) reservations::apply(results[next++], states);
    if (!billed_accounts.empty()) projections::subscriptions::apply(results[next++], states);
    if (!refund_keys.empty()) refund_references::apply(results[next++], states);
    assert(next == results.size());
    return loaded;
  }

  static Outcome replay(const idempotency::Record& stored, const Pending& pending) {
    if (stored.fingerprint != pending.fingerprint) {
      Outcome conflict;
      conflict.rejection = Rejection::kIdempotencyConflict;
      conflict.account_id = pending.command.account_id;
      return conflict;
    }
    Outcome outcome = stored.outcome;
    // After an in-doubt COMMIT the record is this very command's first outcome.
    outcome.replayed = !pending.in_doubt;
    return outcome;
  }

  // Decides one new command and queues its rows.
  Outcome decide(const Pending& pending, AccountStates& states, idempotency::Records& records,
                 BatchWrites& writes, int64_t now_us) const {
    const Command& command = pending.command;
    AccountState& account = states.at(command.account_id);
    const int64_t version_before = account.version;
    Decision decision = decide_and_apply(account, command, now_us, plans_);
    assert(version_before + static_cast<int64_t>(decision.events.size()) == account.version);
    EventMetadata metadata = command.metadata;
    metadata.idempotency_key = command.idempotency_key;
    const std::string metadata_json = encode_event_metadata(metadata);
    std::string hash = account.last_hash;
    for (std::size_t i = 0; i < decision.events.size(); ++i) {
      StoredEvent event;
      event.stream_id = command.account_id;
      event.stream_version = version_before + static_cast<int64_t>(i) + 1;
      event.event_id = crypto::uuid_v4();
      event.event_type = std::string(event_type_name(decision.events[i]));
      event.payload = encode_event_payload(decision.events[i]);
      event.metadata = metadata_json;
      event.recorded_at_us = now_us;
      hash = event_hash(hash, event);
      event.hash = hash;
      writes.events.push_back(std::move(event));
      if (const auto* refund = std::get_if<CreditsRefunded>(&decision.events[i]);
          refund && !refund->reference.empty()) {
        writes.refund_references.emplace_back(command.account_id, refund->reference);
      }
      if (const auto* pack = std::get_if<CreditsGranted>(&decision.events[i]);
          pack && !pack->reference.empty()) {
        writes.refund_references.emplace_back(command.account_id,
                                              pack_reference_key(pack->reference));
      }
    }
    projections::usage::Usage spent;
    for (const EventBody& event : decision.events) {
      projections::usage::count(account, event, now_us, spent);
    }
    for (const auto& [key, credits] : spent) writes.usage[command.account_id][key] += credits;
    for (OutboxMessage& message : decision.outbox) {
      writes.outbox.push_back(
          {command.account_id, crypto::uuid_v4(), message.kind, std::move(message.payload_json)});
    }
    if (!decision.events.empty()) {
      account.last_hash = hash;
      writes.balances.insert(command.account_id);
      const bool subscription_changed =
          std::any_of(decision.events.begin(), decision.events.end(), [](const EventBody& event) {
            return std::holds_alternative<SubscriptionChanged>(event);
          });
      // A billing event may change the subscription row without a snapshot too: a late
      // renewal only adds its period to the granted ones.
      if ((std::holds_alternative<StripeBillingEvent>(command.body) || subscription_changed) &&
          !account.subscription.subscription_id.empty()) {
        writes.subscriptions.insert(command.account_id);
      }
      if (const std::string* id = named_reservation(command.body)) {
        writes.reservations.insert({command.account_id, *id});
      }
    }
    if (!decision.outcome.ok() && !command.record_refusals) return decision.outcome;
    const idempotency::Key key{command.account_id, command.idempotency_key};
    records[key] = idempotency::Record{pending.fingerprint, decision.outcome};
    writes.idempotency.push_back(key);
    return decision.outcome;
  }

  // Round trip 2: the writes of the batch and COMMIT.
  static std::vector<pg::Statement> write_statements(const BatchWrites& writes,
                                                     const AccountStates& states,
                                                     const idempotency::Records& records,
                                                     int64_t now_us) {
    std::vector<pg::Statement> statements;
    if (!writes.events.empty()) statements.push_back(append_events(writes.events));
    const auto accounts_of = [&states](const std::set<std::string>& ids) {
      std::vector<const AccountState*> accounts;
      for (const std::string& id : ids) accounts.push_back(&states.at(id));
      return accounts;
    };
    if (!writes.balances.empty()) {
      statements.push_back(projections::balances::write(accounts_of(writes.balances), now_us));
    }
    if (!writes.reservations.empty()) {
      statements.push_back(reservations::write(
          {writes.reservations.begin(), writes.reservations.end()}, states));
    }
    if (!writes.subscriptions.empty()) {
      statements.push_back(
          projections::subscriptions::write(accounts_of(writes.subscriptions), now_us));
    }
    if (!writes.refund_references.empty()) {
      statements.push_back(refund_references::write(writes.refund_references, states));
    }
    if (!writes.usage.empty()) statements.push_back(projections::usage::add(writes.usage));
    if (!writes.outbox.empty()) statements.push_back(append_outbox(writes.outbox));
    if (!writes.idempotency.empty()) {
      statements.push_back(idempotency::write(writes.idempotency, records));
    }
    statements.push_back({"", "COMMIT", {}});
    return statements;
  }

  // Fulfils the decided and dropped commands and requeues the deferred ones. The counters
  // move first: whoever sees an outcome sees its batch counted.
  void finish(std::vector<Pending>& batch, AttemptResult result, Clock::time_point started) {
    if (!result.decided.empty()) {
      batches_.fetch_add(1);
      decided_.fetch_add(static_cast<int64_t>(result.decided.size()));
      if (observer_.on_batch_committed) {
        const auto latency_us =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
        observer_.on_batch_committed(result.decided.size(), latency_us);
      }
    }
    for (auto& [index, outcome] : result.decided) batch[index].done.succeed(std::move(outcome));
    for (const std::size_t index : result.dropped) {
      fail(batch[index], std::make_exception_ptr(LedgerDeadlineExceeded(
                             "the command's deadline passed before its turn")));
    }
    for (const std::size_t index : result.unwritten) {
      fail(batch[index], std::make_exception_ptr(LedgerUnavailable("ledger database unavailable")));
    }
    for (const std::size_t index : result.deferred) defer(std::move(batch[index]));
    if (!result.deferred.empty()) changed_.notify_one();
  }

  const std::size_t index_;
  const CommitterOptions& options_;
  const PlanCatalog& plans_;
  const CommitterObserver& observer_;
  const std::size_t capacity_;
  std::unique_ptr<pg::Connection> connection_;  // the lane thread's only
  int64_t round_trips_counted_ = 0;               // of connection_, already in round_trips_
  std::size_t last_batch_size_ = 0;               // of the last batch taken

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Pending> queue_;
  std::deque<std::pair<Clock::time_point, Pending>> deferred_;
  std::size_t wake_depth_ = 1;  // the queue depth at which enqueue wakes the lane thread
  bool stopping_ = false;
  std::thread thread_;

  std::atomic<int64_t> batches_{0};
  std::atomic<int64_t> decided_{0};
  std::atomic<int64_t> round_trips_{0};
};

class LanedCommitter final : public Committer {
 public:
  LanedCommitter(CommitterOptions options, const PlanCatalog& plans, CommitterObserver observer)
      : options_(std::move(options)), plans_(plans), observer_(std::move(observer)) {
    assert(options_.lanes >= 1 && options_.batch_max >= 1 && options_.queue_capacity >= 1);
    assert(options_.batch_attempts_max >= 1 && options_.in_doubt_resolve_ms >= 0);
    const std::size_t capacity =
        std::max<std::size_t>(1, (options_.queue_capacity + options_.lanes - 1) / options_.lanes);
    for (std::size_t i = 0; i < options_.lanes; ++i) {
      lanes_.push_back(std::make_unique<Lane>(i, options_, plans_, observer_, capacity));
    }
    if (options_.sweep_interval_ms > 0) sweeper_ = std::thread([this] { sweep_loop(); });
  }

  ~LanedCommitter() override { shutdown(); }

  using Committer::submit;

  void submit(Command command, Clock::time_point deadline, Completion done) override {
    assert(done);
    Pending pending;
    pending.done = CompletionOnce(std::move(done));
    try {
      if (!command_is_storable(command)) {
        // Never batched: PostgreSQL would refuse the whole batch for it.
        Outcome invalid;
        invalid.rejection = Rejection::kInvalidCommand;
        invalid.account_id =
            unicode::is_storable_text(command.account_id) ? command.account_id : "";
        pending.done.succeed(std::move(invalid));
        return;
      }
      pending.fingerprint = command_fingerprint(command);
      pending.deadline = deadline;
      Lane& lane = *lanes_[lane_of(command.account_id, lanes_.size())];
      pending.command = std::move(command);
      if (stopping_.load() || !lane.enqueue(pending)) {
        fail(pending, std::make_exception_ptr(LedgerOverloaded(
                          stopping_.load() ? "ledger is shutting down" : "ledger queue is full")));
      }
    } catch (const std::exception&) {
      // Not queued (enqueue moves only on success): the completion tells, submit never throws.
      fail(pending, std::current_exception());
    }
  }

  void shutdown() override {
    if (stopping_.exchange(true)) return;
    {
      std::lock_guard lock(sweeper_mutex_);
      sweeper_stopping_ = true;
    }
    sweeper_wakeup_.notify_all();
    if (sweeper_.joinable()) sweeper_.join();
    for (auto& lane : lanes_) lane->stop();
  }

  std::size_t queue_depth() const override {
    std::size_t depth = 0;
    for (const auto& lane : lanes_) depth += lane->depth();
    return depth;
  }

  CommitterStats stats() const override {
    CommitterStats total;
    for (const auto& lane : lanes_) {
      const CommitterStats stats = lane->stats();
      total.batches_committed += stats.batches_committed;
      total.commands_decided += stats.commands_decided;
      total.round_trips += stats.round_trips;
    }
    return total;
  }

 private:
  // Lanes are started by the constructor, after the sweeper would need them: the sweeper
  // submits like any other writer (shutdown stops it before the lanes).
  void sweep_loop() {
    pg::LazyConnection connection(pg::ConnectionOptions{
        options_.database_url, options_.statement_timeout_ms, options_.io_timeout_ms});
    std::unique_lock lock(sweeper_mutex_);
    while (!sweeper_stopping_) {
      sweeper_wakeup_.wait_for(lock, std::chrono::milliseconds(options_.sweep_interval_ms),
                               [this] { return sweeper_stopping_; });
      if (sweeper_stopping_) return;
      lock.unlock();
      try {
        sweep_once(connection.get());
      } catch (const std::exception& error) {
        connection.reset();
        spdlog::warn("reservation sweeper: {}", error.what());
      }
      lock.lock();
    }
  }

  // Expires one bounded page of overdue reservations, then settles one bounded page of
  // accounts whose credits are due (expired buckets, a free monthly allowance), waiting for
  // the outcomes, so the sweeper never has more than sweep_batch_max commands in flight.
  void sweep_once(pg::Connection& connection) {
    const auto limit = static_cast<int64_t>(options_.sweep_batch_max);
    std::vector<std::future<Outcome>> futures;
    for (const auto& [account_id, reservation_id] : reservations::read_overdue(connection, limit)) {
      Command command = sweeper_command(account_id, "expire:" + reservation_id);
      command.body = ExpireReservation{reservation_id};
      futures.push_back(submit(std::move(command), kNoDeadline));
    }
    for (auto& future : futures) future.wait();
    futures.clear();
    for (const auto& [account_id, due_us] :
         projections::balances::read_credits_due(connection, limit)) {
      Command command = sweeper_command(account_id, "credits-due:" + std::to_string(due_us));
      command.body = SettleCreditsDue{};
      command.may_open_account = false;
      futures.push_back(submit(std::move(command), kNoDeadline));
    }
    for (auto& future : futures) future.wait();
  }

  static Command sweeper_command(const std::string& account_id, std::string idempotency_key) {
    Command command;
    command.account_id = account_id;
    command.idempotency_key = std::move(idempotency_key);
    command.metadata.actor = "system";
    command.metadata.source = "sweeper";
    return command;
  }

  const CommitterOptions options_;
  const PlanCatalog plans_;
  const CommitterObserver observer_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<bool> stopping_{false};

  std::mutex sweeper_mutex_;
  std::condition_variable sweeper_wakeup_;
  bool sweeper_stopping_ = false;
  std::thread sweeper_;
};

}  // namespace

std::future<Outcome> Committer::submit(Command command, Clock::time_point deadline) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> future = promise->get_future();
  submit(std::move(command), deadline, [promise](Outcome outcome, std::exception_ptr error) {
    if (error) {
      promise->set_exception(error);
    } else {
      promise->set_value(std::move(outcome));
    }
  });
  return future;
}

std::size_t lane_of(std::string_view account_id, std::size_t lanes) {
  assert(lanes >= 1);
  uint64_t hash = 14'695'981'039'346'656'037ull;
  for (const char c : account_id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1'099'511'628'211ull;
  }
  return static_cast<std::size_t>(hash % lanes);
}

std::unique_ptr<Committer> Committer::start(CommitterOptions options, const PlanCatalog& plans,
                                            CommitterObserver observer) {
  return std::make_unique<LanedCommitter>(std::move(options), plans, std::move(observer));
}

}  // namespace ledger
