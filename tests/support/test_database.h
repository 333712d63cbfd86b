// A throwaway PostgreSQL database per test fixture: created fresh on the server that
// scripts/test.sh started (LEDGER_TEST_PG_URL), migrated, and dropped afterwards.
#pragma once

#include <cstdint>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "ledger/account.h"
#include "ledger/pg.h"

namespace testing_support {

class TestDatabase {
 public:
  // Creates and migrates a new database. Fails the calling test (GTEST_SKIP is not used:
  // a missing server is an error) when LEDGER_TEST_PG_URL is unset or unreachable.
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // libpq URL of the new database.
  const std::string& url() const { return url_; }
  // A new connection to it (pqxx 6 connections are not movable).
  std::unique_ptr<pqxx::connection> connect() const;
  // A new connection through the ledger's own libpq client (verify, replay, gateway reads).
  std::unique_ptr<pg::Connection> connect_pg() const;
  // A connection as a superuser to the same database (tests tampering with the log).
  const std::string& name() const { return name_; }

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// The whole database at `url` as PostgreSQL 15's pg_dump writes it (schema and every row):
// what the erasure tests search for plaintext. Fails the calling test when pg_dump fails.
std::string pg_dump(const std::string& url);

// Appends the events a decision made for `state`'s stream at `recorded_at_us` (the stream's
// next versions, chained from its last hash, which it advances), as the committer would
// have then: an account with a past. The caller rebuilds the projections (replay).
void append_decided_events(pg::Connection& connection, ledger::AccountState& state,
                           const std::vector<ledger::EventBody>& events, int64_t first_version,
                           int64_t recorded_at_us);

// LEDGER_BUILD_DIR/relative, e.g. binary_path("http/ledgerd").
std::string build_path(const std::string& relative);

}  // namespace testing_support
