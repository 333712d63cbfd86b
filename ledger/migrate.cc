// Schema migration under a session advisory lock (ledger/migrations.h).
#include <cstdint>

#include <pqxx/pqxx>

#include "ledger/migrations.h"

namespace ledger {
namespace {

constexpr int64_t kMigrationLockKey = 7'245'001;

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

}  // namespace ledger
