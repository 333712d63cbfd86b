// PgCluster: a PostgreSQL 15 server of a test's own (initdb into a temporary directory, a
// free loopback port), for tests that crash the server: the shared test server must stay up
// for the tests running beside them. Durable settings (fsync, synchronous_commit) as in
// production. When the tests run as root the server runs as the `postgres` user.
#pragma once

#include <string>

namespace testing_support {

class PgCluster {
 public:
  // Creates and starts the server and a database `ledger`, migrated. Throws
  // std::runtime_error when a step fails.
  PgCluster();
  ~PgCluster();  // stops the server and removes its directory
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // libpq URL of the `ledger` database.
  std::string url() const;
  // Stops the server the way a crash does: no checkpoint, no clean shutdown of backends;
  // the next start replays the WAL.
  void crash();
  void start();

 private:
  void run(const std::string& command) const;

  std::string directory_;
  int port_ = 0;
};

}  // namespace testing_support
