// Migrations, reads of the event log and projections, and the hash chain (ledger/store.h).
#include "ledger/store.h"

#include <cassert>
#include <stdexcept>

#include "crypto/digest.h"
#include "ledger/migrations.h"
#include "ledger/sql_text.h"

namespace ledger {
namespace {

constexpr int64_t kMigrationLockKey = 7'245'001;
constexpr int64_t kFoldPageSize = 1'000;

// Holds the session-level migration advisory lock for its lifetime.
class MigrationLock {
 public:
  explicit MigrationLock(pqxx::connection& connection) : connection_(connection) {
    pqxx::nontransaction work(connection_);
    work.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
  }
  ~MigrationLock() {
    try {
      pqxx::nontransaction work(connection_);
      work.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
    } catch (...) {
      // The lock ends with the session anyway.
    }
  }

 private:
  pqxx::connection& connection_;
};

void append_field(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out.push_back(':');
  out.append(value);
}

const char* kEventColumns =
    "stream_id, stream_version, global_position, event_id::text, event_type, payload::text, "
    "metadata::text, (extract(epoch from recorded_at) * 1000000)::bigint, hash";

StoredEvent to_stored_event(const pqxx::row& row) {
  StoredEvent event;
  event.stream_id = row[0].as<std::string>();
  event.stream_version = row[1].as<int64_t>();
  event.global_position = row[2].as<int64_t>();
  event.event_id = row[3].as<std::string>();
  event.event_type = row[4].as<std::string>();
  event.payload = row[5].as<std::string>();
  event.metadata = row[6].as<std::string>();
  event.recorded_at_us = row[7].as<int64_t>();
  event.hash = pqxx::binarystring(row[8]).str();
  return event;
}

}  // namespace

int migrate(pqxx::connection& connection) {
  MigrationLock lock(connection);
  {
    pqxx::work work(connection);
    work.exec0(
        "CREATE TABLE IF NOT EXISTS ledger_schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    work.commit();
  }
  int applied = 0;
  for (const Migration& migration : embedded_migrations()) {
    pqxx::work work(connection);
    const pqxx::result done = work.exec_params(
        "SELECT 1 FROM ledger_schema_migrations WHERE version = $1", migration.version);
    if (!done.empty()) continue;
    work.exec(migration.sql);
    work.exec_params("INSERT INTO ledger_schema_migrations (version, name) VALUES ($1, $2)",
                     migration.version, migration.name);
    work.commit();
    ++applied;
  }
  return applied;
}

std::optional<BalanceView> read_balance(pqxx::connection& connection,
                                        const std::string& account_id) {
  pqxx::read_transaction work(connection);
  const pqxx::result rows = work.exec_params(
      "SELECT a.account_id, a.plan_id, a.credits_available, a.credits_reserved,"
      " a.credits_granted, a.credits_spent, a.credits_expired, a.stream_version,"
      " (SELECT count(*) FROM ledger_reservations r"
      "   WHERE r.account_id = a.account_id AND r.status = 'open')"
      " FROM ledger_accounts a WHERE a.account_id = $1",
      account_id);
  if (rows.empty()) return std::nullopt;
  const pqxx::row row = rows[0];
  BalanceView view;
  view.account_id = row[0].as<std::string>();
  view.plan_id = row[1].as<std::string>();
  view.credits_available = row[2].as<int64_t>();
  view.credits_reserved = row[3].as<int64_t>();
  view.credits_granted = row[4].as<int64_t>();
  view.credits_spent = row[5].as<int64_t>();
  view.credits_expired = row[6].as<int64_t>();
  view.version = row[7].as<int64_t>();
  view.open_reservations = row[8].as<int64_t>();
  return view;
}

std::vector<StoredEvent> read_stream(pqxx::connection& connection, const std::string& stream_id,
                                     int64_t after_version, int64_t limit) {
  pqxx::read_transaction work(connection);
  return read_stream(work, stream_id, after_version, limit);
}

std::vector<StoredEvent> read_stream(pqxx::transaction_base& work, const std::string& stream_id,
                                     int64_t after_version, int64_t limit) {
  assert(limit > 0);
  const pqxx::result rows = work.exec_params(
      std::string("SELECT ") + kEventColumns +
          " FROM ledger_events WHERE stream_id = $1 AND stream_version > $2"
          " ORDER BY stream_version LIMIT $3",
      stream_id, after_version, limit);
  std::vector<StoredEvent> events;
  events.reserve(rows.size());
  for (const pqxx::row& row : rows) events.push_back(to_stored_event(row));
  return events;
}

std::string event_hash(const std::string& previous_hash, const StoredEvent& event) {
  assert(previous_hash.size() == crypto::kSha256Size);
  std::string input = previous_hash;
  append_field(input, event.stream_id);
  append_field(input, std::to_string(event.stream_version));
  append_field(input, event.event_id);
  append_field(input, event.event_type);
  append_field(input, std::to_string(event.recorded_at_us));
  append_field(input, event.payload);
  append_field(input, event.metadata);
  return crypto::sha256(input);
}

std::optional<AccountState> fold_stream(pqxx::connection& connection,
                                        const std::string& stream_id, int64_t as_of_us) {
  AccountState state = empty_account(stream_id);
  for (;;) {
    pqxx::read_transaction work(connection);
    const pqxx::result rows = work.exec_params(
        std::string("SELECT ") + kEventColumns +
            " FROM ledger_events WHERE stream_id = $1 AND stream_version > $2"
            " AND recorded_at <= $3::timestamptz ORDER BY stream_version LIMIT $4",
        stream_id, state.version, sql::timestamp_literal(as_of_us), kFoldPageSize);
    work.commit();
    for (const pqxx::row& row : rows) {
      const StoredEvent event = to_stored_event(row);
      const auto body = decode_event(event.event_type, event.payload);
      if (!body || !apply_event(state, *body)) {
        throw std::runtime_error("stream " + stream_id + " version " +
                                 std::to_string(event.stream_version) + " does not fold");
      }
      state.version = event.stream_version;
      state.last_hash = event.hash;
    }
    if (static_cast<int64_t>(rows.size()) < kFoldPageSize) break;
  }
  if (state.version == 0) return std::nullopt;
  return state;
}

std::vector<ExpiredReservationRef> read_overdue_reservations(pqxx::connection& connection,
                                                             std::size_t limit) {
  pqxx::read_transaction work(connection);
  const pqxx::result rows = work.exec_params(
      "SELECT account_id, reservation_id FROM ledger_reservations"
      " WHERE status = 'open' AND expires_at <= clock_timestamp()"
      " ORDER BY expires_at LIMIT $1",
      static_cast<int64_t>(limit));
  std::vector<ExpiredReservationRef> refs;
  refs.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    refs.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
  }
  return refs;
}

}  // namespace ledger
