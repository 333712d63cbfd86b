// The batching committer (ledger/committer.h): one writer thread with its own connection
// takes up to batch_max queued commands, decides them against locked account state and
// writes events, projections and idempotency records in one transaction. A sweeper thread
// submits ExpireReservation for overdue reservations through the same path.
#include "ledger/committer.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "crypto/digest.h"
#include "ledger/sql_text.h"
#include "ledger/store.h"

namespace ledger {
namespace {

using AccountKey = std::pair<std::string, std::string>;  // (account id, idempotency key)

struct Pending {
  Command command;
  std::string fingerprint;
  std::promise<Outcome> promise;
};

struct StoredOutcome {
  std::string fingerprint;
  Outcome outcome;
};

// Everything one batch transaction reads and writes.
struct BatchState {
  int64_t now_us = 0;
  std::map<std::string, AccountState> accounts;
  std::map<AccountKey, StoredOutcome> idempotency;
  std::set<std::string> touched_accounts;
  std::set<AccountKey> touched_reservations;  // (account id, reservation id)
  std::set<std::string> touched_subscriptions;
  std::vector<std::string> refund_reference_rows;
  std::vector<std::string> outbox_rows;
  std::vector<std::string> event_rows;        // SQL VALUES tuples
  std::vector<std::string> idempotency_rows;
  std::vector<Outcome> outcomes;
};

const std::string* named_reservation(const CommandBody& body) {
  if (auto* c = std::get_if<ReserveCredits>(&body)) return &c->reservation_id;
  if (auto* c = std::get_if<CaptureReservation>(&body)) return &c->reservation_id;
  if (auto* c = std::get_if<ReleaseReservation>(&body)) return &c->reservation_id;
  if (auto* c = std::get_if<ExpireReservation>(&body)) return &c->reservation_id;
  return nullptr;
}

ReservationStatus parse_status(const std::string& text) {
  if (text == "open") return ReservationStatus::kOpen;
  if (text == "captured") return ReservationStatus::kCaptured;
  if (text == "released") return ReservationStatus::kReleased;
  if (text == "expired") return ReservationStatus::kExpired;
  throw std::runtime_error("unknown reservation status in projection");
}

class BatchingCommitter final : public Committer {
 public:
  BatchingCommitter(CommitterOptions options, const PlanCatalog& plans, CommitterObserver observer)
      : options_(std::move(options)), plans_(plans), observer_(std::move(observer)) {
    assert(options_.batch_max > 0 && options_.queue_capacity > 0);
    connect();  // fail fast at start when the database is unreachable
    writer_ = std::thread([this] { write_loop(); });
    if (options_.sweep_interval_ms > 0) sweeper_ = std::thread([this] { sweep_loop(); });
  }

  ~BatchingCommitter() override { shutdown(); }

  std::future<Outcome> submit(Command command) override {
    Pending pending;
    pending.fingerprint = command_fingerprint(command);
    pending.command = std::move(command);
    std::future<Outcome> future = pending.promise.get_future();
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() >= options_.queue_capacity) {
        pending.promise.set_exception(std::make_exception_ptr(
            LedgerOverloaded(stopping_ ? "ledger is shutting down" : "ledger queue is full")));
        return future;
      }
      queue_.push_back(std::move(pending));
    }
    queue_changed_.notify_one();
    return future;
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      sweeper_stopping_ = true;
    }
    sweeper_wakeup_.notify_all();
    if (sweeper_.joinable()) sweeper_.join();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    queue_changed_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  std::size_t queue_depth() const override {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  // A connection with the committer's session settings; libpqxx 6 must not silently
  // reconnect (it would lose them): callers reconnect themselves after a break.
  std::unique_ptr<pqxx::connection> open_connection() const {
    auto connection = std::make_unique<pqxx::connection>(options_.database_url);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    connection->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    pqxx::nontransaction work(*connection);
    work.exec0("SET statement_timeout = " + std::to_string(options_.statement_timeout_ms));
    return connection;
  }

  void connect() {
    try {
      connection_ = open_connection();
    } catch (const std::exception& error) {
      connection_.reset();
      throw LedgerUnavailable(std::string("cannot connect to the ledger database: ") +
                              error.what());
    }
  }

  void write_loop() {
    for (;;) {
      std::vector<Pending> batch;
      {
        std::unique_lock lock(mutex_);
        queue_changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        while (!queue_.empty() && batch.size() < options_.batch_max) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      process(batch);
    }
  }

  // Runs the batch, retrying transient failures (idempotency makes a retry after an
  // in-doubt commit safe), and fulfils every promise exactly once.
  void process(std::vector<Pending>& batch) {
    const auto started = std::chrono::steady_clock::now();
    std::string last_error;
    for (int attempt = 1; attempt <= options_.batch_attempts_max; ++attempt) {
      try {
        if (!connection_) connect();
        std::vector<Outcome> outcomes = execute(batch, attempt);
        for (std::size_t i = 0; i < batch.size(); ++i) {
          batch[i].promise.set_value(std::move(outcomes[i]));
        }
        const auto latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::steady_clock::now() - started)
                                    .count();
        if (observer_.on_batch_committed) observer_.on_batch_committed(batch.size(), latency_us);
        return;
      } catch (const pqxx::broken_connection& error) {
        last_error = error.what();
        connection_.reset();
      } catch (const pqxx::in_doubt_error& error) {
        last_error = error.what();
        connection_.reset();
      } catch (const pqxx::transaction_rollback& error) {
        last_error = error.what();  // deadlock or serialization failure: retry
      } catch (const LedgerUnavailable& error) {
        last_error = error.what();
      } catch (const std::exception& error) {
        // A constraint or SQL error will not pass on retry. One command may have caused it:
        // run each command of the batch alone so only that one fails.
        last_error = error.what();
        if (batch.size() > 1) {
          spdlog::warn("ledger batch of {} commands failed ({}); isolating each command",
                       batch.size(), last_error);
          process_each_alone(batch);
          return;
        }
        break;
      }
      if (observer_.on_database_error) observer_.on_database_error();
      spdlog::warn("ledger batch attempt {} of {} commands failed: {}", attempt, batch.size(),
                   last_error);
      // Back off before the next attempt: 20 ms, 40 ms, ... (bounded by batch_attempts_max).
      std::this_thread::sleep_for(std::chrono::milliseconds(10 << std::min(attempt, 6)));
    }
    if (observer_.on_database_error) observer_.on_database_error();
    spdlog::error("ledger batch of {} commands failed, nothing written: {}", batch.size(),
                  last_error);
    for (Pending& pending : batch) {
      pending.promise.set_exception(
          std::make_exception_ptr(LedgerUnavailable("ledger database unavailable")));
    }
  }

  void process_each_alone(std::vector<Pending>& batch) {
    for (Pending& pending : batch) {
      std::vector<Pending> alone;
      alone.push_back(std::move(pending));
      process(alone);
    }
  }

  std::vector<Outcome> execute(std::vector<Pending>& batch, int attempt) {
    pqxx::work work(*connection_);
    BatchState state;
    lock_accounts(work, batch);
    state.now_us = work.exec1("SELECT " + sql::epoch_us("clock_timestamp()"))[0].as<int64_t>();
    load_accounts(work, batch, state);
    load_reservations(work, batch, state);
    load_subscriptions(work, state);
    load_refund_references(work, batch, state);
    load_idempotency(work, batch, state);
    for (Pending& pending : batch) state.outcomes.push_back(run_command(pending, state));
    write(work, state);
    if (options_.before_commit_for_tests) {
      options_.before_commit_for_tests(attempt, connection_->backendpid());
    }
    work.commit();
    return std::move(state.outcomes);
  }

  // Advisory transaction locks on every account of the batch, taken in ascending key
  // order so that concurrent batches (in any process) cannot deadlock.
  static void lock_accounts(pqxx::work& work, const std::vector<Pending>& batch) {
    std::vector<std::string> ids;
    for (const Pending& pending : batch) ids.push_back(pending.command.account_id);
    work.exec_params(
        "SELECT count(pg_advisory_xact_lock(k)) FROM ("
        " SELECT DISTINCT hashtextextended(a, 0) AS k FROM unnest($1::text[]) a ORDER BY 1) s",
        sql::text_array(ids));
  }

  static void load_accounts(pqxx::work& work, const std::vector<Pending>& batch,
                            BatchState& state) {
    std::vector<std::string> ids;
    for (const Pending& pending : batch) {
      const std::string& id = pending.command.account_id;
      if (state.accounts.emplace(id, empty_account(id)).second) ids.push_back(id);
    }
    const pqxx::result rows = work.exec_params(
        "SELECT account_id, plan_id, credits_available, credits_reserved, credits_granted,"
        " credits_spent, credits_expired, stream_version, last_hash"
        " FROM ledger_accounts WHERE account_id = ANY($1::text[])",
        sql::text_array(ids));
    for (const pqxx::row& row : rows) {
      AccountState& account = state.accounts.at(row[0].as<std::string>());
      account.opened = true;
      account.plan_id = row[1].as<std::string>();
      account.credits_available = row[2].as<int64_t>();
      account.credits_reserved = row[3].as<int64_t>();
      account.credits_granted = row[4].as<int64_t>();
      account.credits_spent = row[5].as<int64_t>();
      account.credits_expired = row[6].as<int64_t>();
      account.version = row[7].as<int64_t>();
      account.last_hash = pqxx::binarystring(row[8]).str();
    }
  }

  static void load_reservations(pqxx::work& work, const std::vector<Pending>& batch,
                                BatchState& state) {
    std::vector<std::string> accounts;
    std::vector<std::string> reservations;
    for (const Pending& pending : batch) {
      if (const std::string* id = named_reservation(pending.command.body)) {
        accounts.push_back(pending.command.account_id);
        reservations.push_back(*id);
      }
    }
    if (accounts.empty()) return;
    const pqxx::result rows = work.exec_params(
        "SELECT r.account_id, r.reservation_id, r.amount, r.feature, " +
            sql::epoch_us("r.expires_at") +
            ", r.status, r.amount_captured FROM ledger_reservations r"
            " JOIN unnest($1::text[], $2::text[]) AS k(account_id, reservation_id)"
            " USING (account_id, reservation_id)",
        sql::text_array(accounts), sql::text_array(reservations));
    for (const pqxx::row& row : rows) {
      Reservation r;
      r.id = row[1].as<std::string>();
      r.amount = row[2].as<int64_t>();
      r.feature = row[3].as<std::string>();
      r.expires_at_us = row[4].as<int64_t>();
      r.status = parse_status(row[5].as<std::string>());
      r.amount_captured = row[6].as<int64_t>();
      state.accounts.at(row[0].as<std::string>()).reservations[r.id] = std::move(r);
    }
  }

  static void load_subscriptions(pqxx::work& work, BatchState& state) {
    std::vector<std::string> ids;
    for (const auto& [id, account] : state.accounts) {
      if (account.opened) ids.push_back(id);
    }
    if (ids.empty()) return;
    const pqxx::result rows = work.exec_params(
        "SELECT account_id, subscription_id, customer_id, status, plan_id, scheduled_plan_id,"
        " period_start_s, period_end_s, cancel_at_period_end, watermark_created_s,"
        " granted_periods FROM ledger_subscriptions WHERE account_id = ANY($1::text[])",
        sql::text_array(ids));
    for (const pqxx::row& row : rows) {
      SubscriptionState& sub = state.accounts.at(row[0].as<std::string>()).subscription;
      sub.subscription_id = row[1].as<std::string>();
      sub.customer_id = row[2].as<std::string>();
      sub.status = row[3].as<std::string>();
      sub.plan_id = row[4].as<std::string>();
      sub.scheduled_plan_id = row[5].as<std::string>();
      sub.period_start_s = row[6].as<int64_t>();
      sub.period_end_s = row[7].as<int64_t>();
      sub.cancel_at_period_end = row[8].as<bool>();
      sub.watermark_created_s = row[9].as<int64_t>();
      for (std::string& key : sql::parse_text_array(row[10].as<std::string>())) {
        sub.granted_periods.insert(std::move(key));
      }
    }
  }

  static void load_refund_references(pqxx::work& work, const std::vector<Pending>& batch,
                                     BatchState& state) {
    std::vector<std::string> accounts;
    std::vector<std::string> references;
    for (const Pending& pending : batch) {
      if (auto* refund = std::get_if<RefundCredits>(&pending.command.body)) {
        accounts.push_back(pending.command.account_id);
        references.push_back(refund->reference);
      }
    }
    if (accounts.empty()) return;
    const pqxx::result rows = work.exec_params(
        "SELECT r.account_id, r.reference FROM ledger_refund_references r"
        " JOIN unnest($1::text[], $2::text[]) AS k(account_id, reference)"
        " USING (account_id, reference)",
        sql::text_array(accounts), sql::text_array(references));
    for (const pqxx::row& row : rows) {
      state.accounts.at(row[0].as<std::string>()).refund_references.insert(row[1].as<std::string>());
    }
  }

  static void load_idempotency(pqxx::work& work, const std::vector<Pending>& batch,
                               BatchState& state) {
    std::vector<std::string> accounts;
    std::vector<std::string> keys;
    for (const Pending& pending : batch) {
      accounts.push_back(pending.command.account_id);
      keys.push_back(pending.command.idempotency_key);
    }
    const pqxx::result rows = work.exec_params(
        "SELECT i.account_id, i.idempotency_key, i.fingerprint, i.outcome::text"
        " FROM ledger_idempotency i"
        " JOIN unnest($1::text[], $2::text[]) AS k(account_id, idempotency_key)"
        " USING (account_id, idempotency_key)",
        sql::text_array(accounts), sql::text_array(keys));
    for (const pqxx::row& row : rows) {
      state.idempotency[{row[0].as<std::string>(), row[1].as<std::string>()}] =
          StoredOutcome{row[2].as<std::string>(), Outcome::from_json(row[3].as<std::string>())};
    }
  }

  // Decides one command (or replays its stored outcome) and queues its rows.
  Outcome run_command(const Pending& pending, BatchState& state) {
    const Command& command = pending.command;
    const AccountKey key{command.account_id, command.idempotency_key};
    if (auto it = state.idempotency.find(key); it != state.idempotency.end()) {
      if (it->second.fingerprint != pending.fingerprint) {
        Outcome conflict;
        conflict.rejection = Rejection::kIdempotencyConflict;
        conflict.account_id = command.account_id;
        return conflict;
      }
      Outcome replay = it->second.outcome;
      replay.replayed = true;
      return replay;
    }
    AccountState& account = state.accounts.at(command.account_id);
    const int64_t version_before = account.version;
    Decision decision = decide_and_apply(account, command, state.now_us, plans_);
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
      event.recorded_at_us = state.now_us;
      hash = event_hash(hash, event);
      event.hash = hash;
      state.event_rows.push_back(event_values(event));
    }
    assert(version_before + static_cast<int64_t>(decision.events.size()) == account.version);
    for (const OutboxMessage& message : decision.outbox) {
      state.outbox_rows.push_back("(" + connection_->quote(command.account_id) + "," +
                                  connection_->quote(crypto::uuid_v4()) + "::uuid," +
                                  connection_->quote(message.kind) + "," +
                                  connection_->quote(message.payload_json) + "::json)");
    }
    for (const EventBody& event : decision.events) {
      if (auto* refund = std::get_if<CreditsRefunded>(&event); refund && !refund->reference.empty()) {
        state.refund_reference_rows.push_back("(" + connection_->quote(command.account_id) + "," +
                                              connection_->quote(refund->reference) + "," +
                                              std::to_string(refund->amount) + ")");
      }
    }
    if (!decision.events.empty()) {
      if (!account.subscription.subscription_id.empty()) {
        state.touched_subscriptions.insert(command.account_id);
      }
      account.last_hash = hash;
      state.touched_accounts.insert(command.account_id);
      if (const std::string* id = named_reservation(command.body)) {
        state.touched_reservations.insert({command.account_id, *id});
      }
    }
    const std::string outcome_json = decision.outcome.to_json();
    state.idempotency[key] = StoredOutcome{pending.fingerprint, decision.outcome};
    state.idempotency_rows.push_back("(" + connection_->quote(command.account_id) + "," +
                                     connection_->quote(command.idempotency_key) + "," +
                                     connection_->quote(pending.fingerprint) + "," +
                                     connection_->quote(outcome_json) + "::json)");
    return decision.outcome;
  }

  std::string bytea(const std::string& bytes) const {
    return connection_->quote("\\x" + crypto::hex_encode(bytes)) + "::bytea";
  }

  std::string event_values(const StoredEvent& e) const {
    return "(" + connection_->quote(e.stream_id) + "," + std::to_string(e.stream_version) + "," +
           connection_->quote(e.event_id) + "::uuid," + connection_->quote(e.event_type) + "," +
           connection_->quote(e.payload) + "::json," + connection_->quote(e.metadata) + "::json," +
           connection_->quote(sql::timestamp_literal(e.recorded_at_us)) + "::timestamptz," +
           bytea(e.hash) + ")";
  }

  static std::string join(const std::vector<std::string>& rows) {
    std::string out;
    for (const std::string& row : rows) {
      if (!out.empty()) out.push_back(',');
      out += row;
    }
    return out;
  }

  // Set-based writes: one statement per table for the whole batch.
  void write(pqxx::work& work, const BatchState& state) const {
    if (!state.event_rows.empty()) {
      work.exec0(
          "INSERT INTO ledger_events (stream_id, stream_version, event_id, event_type, payload,"
          " metadata, recorded_at, hash) VALUES " +
          join(state.event_rows));
    }
    write_accounts(work, state);
    write_reservations(work, state);
    write_subscriptions(work, state);
    if (!state.refund_reference_rows.empty()) {
      work.exec0("INSERT INTO ledger_refund_references (account_id, reference, amount) VALUES " +
                 join(state.refund_reference_rows));
    }
    if (!state.outbox_rows.empty()) {
      work.exec0("INSERT INTO ledger_outbox (account_id, message_id, kind, payload) VALUES " +
                 join(state.outbox_rows));
    }
    if (!state.idempotency_rows.empty()) {
      work.exec0(
          "INSERT INTO ledger_idempotency (account_id, idempotency_key, fingerprint, outcome)"
          " VALUES " +
          join(state.idempotency_rows));
    }
  }

  void write_accounts(pqxx::work& work, const BatchState& state) const {
    if (state.touched_accounts.empty()) return;
    std::vector<std::string> rows;
    const std::string now = connection_->quote(sql::timestamp_literal(state.now_us));
    for (const std::string& id : state.touched_accounts) {
      const AccountState& a = state.accounts.at(id);
      assert(a.opened && balance_invariants_hold(a));
      rows.push_back("(" + connection_->quote(a.account_id) + "," + connection_->quote(a.plan_id) +
                     "," + std::to_string(a.credits_available) + "," +
                     std::to_string(a.credits_reserved) + "," + std::to_string(a.credits_granted) +
                     "," + std::to_string(a.credits_spent) + "," +
                     std::to_string(a.credits_expired) + "," + std::to_string(a.version) + "," +
                     bytea(a.last_hash) + "," + now + "::timestamptz)");
    }
    work.exec0(
        "INSERT INTO ledger_accounts (account_id, plan_id, credits_available, credits_reserved,"
        " credits_granted, credits_spent, credits_expired, stream_version, last_hash, updated_at)"
        " VALUES " +
        join(rows) +
        " ON CONFLICT (account_id) DO UPDATE SET plan_id = EXCLUDED.plan_id,"
        " credits_available = EXCLUDED.credits_available,"
        " credits_reserved = EXCLUDED.credits_reserved,"
        " credits_granted = EXCLUDED.credits_granted, credits_spent = EXCLUDED.credits_spent,"
        " credits_expired = EXCLUDED.credits_expired, stream_version = EXCLUDED.stream_version,"
        " last_hash = EXCLUDED.last_hash, updated_at = EXCLUDED.updated_at");
  }

  void write_reservations(pqxx::work& work, const BatchState& state) const {
    if (state.touched_reservations.empty()) return;
    std::vector<std::string> rows;
    for (const auto& [account_id, reservation_id] : state.touched_reservations) {
      const Reservation& r = state.accounts.at(account_id).reservations.at(reservation_id);
      rows.push_back("(" + connection_->quote(account_id) + "," + connection_->quote(r.id) + "," +
                     std::to_string(r.amount) + "," + connection_->quote(r.feature) + "," +
                     connection_->quote(sql::timestamp_literal(r.expires_at_us)) +
                     "::timestamptz," +
                     connection_->quote(std::string(reservation_status_name(r.status))) + "," +
                     std::to_string(r.amount_captured) + ")");
    }
    work.exec0(
        "INSERT INTO ledger_reservations (account_id, reservation_id, amount, feature,"
        " expires_at, status, amount_captured) VALUES " +
        join(rows) +
        " ON CONFLICT (account_id, reservation_id) DO UPDATE SET status = EXCLUDED.status,"
        " amount_captured = EXCLUDED.amount_captured");
  }

  void write_subscriptions(pqxx::work& work, const BatchState& state) const {
    if (state.touched_subscriptions.empty()) return;
    std::vector<std::string> rows;
    const std::string now = connection_->quote(sql::timestamp_literal(state.now_us));
    for (const std::string& id : state.touched_subscriptions) {
      const SubscriptionState& s = state.accounts.at(id).subscription;
      const std::vector<std::string> periods(s.granted_periods.begin(), s.granted_periods.end());
      rows.push_back("(" + connection_->quote(id) + "," + connection_->quote(s.subscription_id) +
                     "," + connection_->quote(s.customer_id) + "," + connection_->quote(s.status) +
                     "," + connection_->quote(s.plan_id) + "," +
                     connection_->quote(s.scheduled_plan_id) + "," +
                     std::to_string(s.period_start_s) + "," + std::to_string(s.period_end_s) +
                     "," + (s.cancel_at_period_end ? "true" : "false") + "," +
                     std::to_string(s.watermark_created_s) + "," +
                     connection_->quote(sql::text_array(periods)) + "::text[]," + now +
                     "::timestamptz)");
    }
    work.exec0(
        "INSERT INTO ledger_subscriptions (account_id, subscription_id, customer_id, status,"
        " plan_id, scheduled_plan_id, period_start_s, period_end_s, cancel_at_period_end,"
        " watermark_created_s, granted_periods, updated_at) VALUES " +
        join(rows) +
        " ON CONFLICT (account_id) DO UPDATE SET subscription_id = EXCLUDED.subscription_id,"
        " customer_id = EXCLUDED.customer_id, status = EXCLUDED.status,"
        " plan_id = EXCLUDED.plan_id, scheduled_plan_id = EXCLUDED.scheduled_plan_id,"
        " period_start_s = EXCLUDED.period_start_s, period_end_s = EXCLUDED.period_end_s,"
        " cancel_at_period_end = EXCLUDED.cancel_at_period_end,"
        " watermark_created_s = EXCLUDED.watermark_created_s,"
        " granted_periods = EXCLUDED.granted_periods, updated_at = EXCLUDED.updated_at");
  }

  void sweep_loop() {
    std::unique_ptr<pqxx::connection> connection;
    std::unique_lock lock(mutex_);
    while (!sweeper_stopping_) {
      sweeper_wakeup_.wait_for(lock, std::chrono::milliseconds(options_.sweep_interval_ms),
                               [this] { return sweeper_stopping_; });
      if (sweeper_stopping_) return;
      lock.unlock();
      try {
        if (!connection) connection = open_connection();
        sweep_once(*connection);
      } catch (const std::exception& error) {
        connection.reset();
        spdlog::warn("reservation sweeper: {}", error.what());
      }
      lock.lock();
    }
  }

  // Expires one bounded page of overdue reservations and waits for the outcomes, so the
  // sweeper never has more than sweep_batch_max commands in flight.
  void sweep_once(pqxx::connection& connection) {
    const auto overdue = read_overdue_reservations(connection, options_.sweep_batch_max);
    std::vector<std::future<Outcome>> futures;
    for (const ExpiredReservationRef& ref : overdue) {
      Command command;
      command.account_id = ref.account_id;
      command.idempotency_key = "expire:" + ref.reservation_id;
      command.body = ExpireReservation{ref.reservation_id};
      command.metadata.actor = "system";
      command.metadata.source = "sweeper";
      futures.push_back(submit(std::move(command)));
    }
    for (auto& future : futures) future.wait();
  }

  const CommitterOptions options_;
  const PlanCatalog plans_;
  const CommitterObserver observer_;
  std::unique_ptr<pqxx::connection> connection_;  // used by the writer thread only

  mutable std::mutex mutex_;
  std::condition_variable queue_changed_;
  std::condition_variable sweeper_wakeup_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  bool sweeper_stopping_ = false;
  std::thread writer_;
  std::thread sweeper_;
};

}  // namespace

std::unique_ptr<Committer> Committer::start(CommitterOptions options, const PlanCatalog& plans,
                                            CommitterObserver observer) {
  return std::make_unique<BatchingCommitter>(std::move(options), plans, std::move(observer));
}

}  // namespace ledger
