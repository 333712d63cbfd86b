// TestDatabase: CREATE DATABASE / migrate / DROP DATABASE around each fixture.
#include "tests/support/test_database.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "crypto/digest.h"
#include "ledger/migrations.h"
#include "ledger/store.h"

namespace testing_support {
namespace {

std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) + " is not set: run the tests with scripts/test.sh");
  }
  return value;
}

// Replaces the database name (the path after the last '/') of a libpq URL.
std::string with_database(const std::string& url, const std::string& database) {
  const auto slash = url.rfind('/');
  return url.substr(0, slash + 1) + database;
}

}  // namespace

TestDatabase::TestDatabase() {
  admin_url_ = required_env("LEDGER_TEST_PG_URL");
  name_ = "ledger_test_" + crypto::hex_encode(crypto::random_bytes(6));
  {
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction work(admin);
    work.exec0("CREATE DATABASE " + name_);
  }
  url_ = with_database(admin_url_, name_);
  pqxx::connection connection(url_);
  ledger::migrate(connection);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction work(admin);
    work.exec0("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& error) {
    ADD_FAILURE() << "could not drop " << name_ << ": " << error.what();
  }
}

std::unique_ptr<pqxx::connection> TestDatabase::connect() const {
  return std::make_unique<pqxx::connection>(url_);
}

std::unique_ptr<pg::Connection> TestDatabase::connect_pg() const {
  return std::make_unique<pg::Connection>(pg::ConnectionOptions{url_});
}

std::string build_path(const std::string& relative) {
  return required_env("LEDGER_BUILD_DIR") + "/" + relative;
}

std::string pg_dump(const std::string& url) {
  // The URL goes through the environment, not the shell's word splitting.
  ::setenv("LEDGER_TEST_DUMP_URL", url.c_str(), 1);
  FILE* pipe = ::popen("/usr/lib/postgresql/15/bin/pg_dump --no-owner \"$LEDGER_TEST_DUMP_URL\"", "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "pg_dump could not start";
    return "";
  }
  std::string out;
  char buffer[65536];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << "pg_dump failed";
  EXPECT_NE(out.find("PostgreSQL database dump complete"), std::string::npos);
  return out;
}

void append_decided_events(pg::Connection& connection, ledger::AccountState& state,
                           const std::vector<ledger::EventBody>& events, int64_t first_version,
                           int64_t recorded_at_us) {
  std::vector<ledger::StoredEvent> stored;
  for (std::size_t i = 0; i < events.size(); ++i) {
    ledger::StoredEvent event;
    event.stream_id = state.account_id;
    event.stream_version = first_version + static_cast<int64_t>(i);
    event.event_id = crypto::uuid_v4();
    event.event_type = std::string(ledger::event_type_name(events[i]));
    event.payload = ledger::encode_event_payload(events[i]);
    event.metadata = R"({"actor":"test","source":"seed"})";
    event.recorded_at_us = recorded_at_us;
    state.last_hash = ledger::event_hash(state.last_hash, event);
    event.hash = state.last_hash;
    stored.push_back(std::move(event));
  }
  connection.exec(ledger::append_events(stored));
}

}  // namespace testing_support
