// TestDatabase: CREATE DATABASE / migrate / DROP DATABASE around each fixture.
#include "tests/support/test_database.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

#include "crypto/digest.h"
#include "ledger/migrations.h"

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

}  // namespace testing_support
