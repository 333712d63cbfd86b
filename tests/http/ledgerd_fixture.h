// LedgerdTest: each test gets a fresh migrated database and its own ledgerd process, plus
// helpers to build credentials, call routes, and read the ledger's state directly from
// PostgreSQL (to check what HTTP answers against what was written).
#pragma once

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/account.h"
#include "ledger/store.h"
#include "projections/balances.h"
#include "tests/support/http_test_client.h"
#include "tests/support/ledgerd_process.h"
#include "tests/support/test_database.h"

namespace http_tests {

using testing_support::TestHeaders;
using testing_support::TestResponse;

class LedgerdTest : public ::testing::Test {
 protected:
  // Flags added to every ledgerd of the fixture; subclasses override.
  virtual std::vector<std::string> ledgerd_flags() const;

  void SetUp() override;
  void TearDown() override;

  // Starts (again) a ledgerd on the fixture's database with these flags.
  void restart_ledgerd(const std::vector<std::string>& flags);

  std::string url(const std::string& path) const;
  std::string token(const std::string& subject, int64_t ttl_s = 3600) const;
  static TestHeaders bearer(const std::string& credential);
  static TestHeaders with_key(TestHeaders headers, const std::string& idempotency_key);
  std::string create_key(const std::string& name, const std::vector<std::string>& scopes) const;

  // POST /api/v1/credits/reservations as `credential` with a fresh Idempotency-Key.
  TestResponse reserve(const std::string& credential, int64_t amount,
                       const std::string& extra_fields = "") const;
  TestResponse capture(const std::string& credential, const std::string& reservation_id,
                       int64_t amount, const std::string& extra_fields = "") const;
  TestResponse grant(const std::string& admin_key, const std::string& account,
                     int64_t amount) const;

  // Direct database reads.
  int64_t event_count(const std::string& account) const;
  std::optional<projections::balances::BalanceView> balance_row(const std::string& account) const;
  std::optional<ledger::AccountState> fold(const std::string& account) const;
  std::vector<ledger::StoredEvent> stored_events(const std::string& account) const;
  // Projection equals a fresh fold and the hash chain links: what `ledgerctl verify` checks.
  void expect_consistent(const std::string& account) const;

  std::unique_ptr<testing_support::TestDatabase> database_;
  std::unique_ptr<testing_support::LedgerdProcess> ledgerd_;
  std::string secret_ = "test-secret-0123456789abcdef-0123456789";
};

// Parses a JSON body (an assertion failure when it is not JSON).
rapidjson::Document parse_json(const std::string& body);
// The "error" member of a JSON error body, or "" when absent/not JSON.
std::string error_code(const TestResponse& response);
std::string string_field(const rapidjson::Document& document, const char* name);
int64_t int_field(const rapidjson::Document& document, const char* name);
std::string fresh_key();
// `token` (a JWT, or any base64url text whose last digit carries unused bits, as the 43-digit
// HS256 signature does) with the lowest bit of its last digit flipped: the same bytes to a
// lenient decoder, a second spelling that must be refused.
std::string with_stray_last_bit(const std::string& token);

}  // namespace http_tests
