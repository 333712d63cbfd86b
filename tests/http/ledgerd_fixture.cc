// LedgerdTest helpers.
#include "tests/http/ledgerd_fixture.h"

#include <csignal>
#include <cstdio>

#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "crypto/digest.h"

namespace http_tests {

std::vector<std::string> LedgerdTest::ledgerd_flags() const {
  // Every client of these tests is 127.0.0.1 and many send bad credentials on purpose: the
  // per-address limit on failed authentications has its own tests (client_limits_test.cc).
  return {"--rate_limit_per_s=0", "--auth_failures_max=0", "--workers=8", "--log_level=info"};
}

std::string LedgerdTest::ledgerd_database_url() { return database_->url(); }

void LedgerdTest::SetUp() {
  database_ = std::make_unique<testing_support::TestDatabase>();
  restart_ledgerd(ledgerd_flags());
}

void LedgerdTest::TearDown() {
  if (ledgerd_ && HasFailure()) {
    std::fprintf(stderr, "---- ledgerd log ----\n%s\n", ledgerd_->log_text().c_str());
  }
  ledgerd_.reset();
  database_.reset();
}

void LedgerdTest::restart_ledgerd(const std::vector<std::string>& flags) {
  ledgerd_.reset();
  testing_support::LedgerdOptions options;
  options.database_url = ledgerd_database_url();
  options.jwt_secret = secret_;
  options.extra_flags = flags;
  ledgerd_ = std::make_unique<testing_support::LedgerdProcess>(options);
}

std::vector<std::string> WireCountedLedgerdTest::ledgerd_flags() const {
  std::vector<std::string> flags = LedgerdTest::ledgerd_flags();
  flags.insert(flags.end(), {"--sweep_interval_ms=0", "--webhook_retry_poll_ms=600000",
                             "--outbox_poll_ms=600000", "--prune_interval_s=0",
                             "--health_check_interval_ms=1000", "--metrics_refresh_ms=5000"});
  return flags;
}

std::string WireCountedLedgerdTest::ledgerd_database_url() {
  if (!proxy_) {
    proxy_ = std::make_unique<testing_support::RoundTripProxy>(
        testing_support::url_port(database_->url()));
  }
  return testing_support::url_with_port(database_->url(), proxy_->port());
}

int64_t WireCountedLedgerdTest::probe_round_trips_max(std::chrono::steady_clock::duration elapsed) {
  // One SELECT 1 per second plus one gauge read per 5 s; one round trip each.
  const double seconds = std::chrono::duration<double>(elapsed).count();
  return static_cast<int64_t>((seconds + 2.0) * 1.2) + 1;
}

std::string LedgerdTest::url(const std::string& path) const { return ledgerd_->base_url() + path; }

std::string LedgerdTest::token(const std::string& subject, int64_t ttl_s) const {
  return auth::issue_dev_token(secret_, subject, ttl_s);
}

TestHeaders LedgerdTest::bearer(const std::string& credential) {
  return {{"Authorization", "Bearer " + credential}};
}

TestHeaders LedgerdTest::with_key(TestHeaders headers, const std::string& idempotency_key) {
  headers.emplace_back("Idempotency-Key", idempotency_key);
  return headers;
}

std::string LedgerdTest::create_key(const std::string& name,
                                    const std::vector<std::string>& scopes) const {
  return auth::create_api_key(*connect_ledger_database(), name, scopes);
}

TestResponse LedgerdTest::reserve(const std::string& credential, int64_t amount,
                                  const std::string& extra_fields) const {
  return testing_support::http_post(
      url("/api/v1/credits/reservations"), with_key(bearer(credential), fresh_key()),
      R"({"amount":)" + std::to_string(amount) + R"(,"feature":"humanize")" + extra_fields + "}");
}

TestResponse LedgerdTest::capture(const std::string& credential, const std::string& reservation_id,
                                  int64_t amount, const std::string& extra_fields) const {
  return testing_support::http_post(
      url("/api/v1/credits/reservations/" + reservation_id + "/capture"),
      with_key(bearer(credential), fresh_key()),
      R"({"amount":)" + std::to_string(amount) + extra_fields + "}");
}

TestResponse LedgerdTest::grant(const std::string& admin_key, const std::string& account,
                                int64_t amount) const {
  return testing_support::http_post(
      url("/api/v1/admin/accounts/" + account + "/grants"),
      with_key(bearer(admin_key), fresh_key()),
      R"({"amount":)" + std::to_string(amount) + R"(,"reason":"test grant"})");
}

int64_t LedgerdTest::event_count(const std::string& account) const {
  pqxx::connection connection(ledger_database_url());
  pqxx::work work(connection);
  return work.exec_params1("SELECT count(*) FROM ledger_events WHERE stream_id = $1", account)[0]
      .as<int64_t>();
}

std::unique_ptr<pg::Connection> LedgerdTest::connect_ledger_database() const {
  pg::ConnectionOptions options;
  options.url = ledger_database_url();
  return std::make_unique<pg::Connection>(options);
}

std::string LedgerdTest::ledger_database_url() const { return database_->url(); }

std::optional<projections::balances::BalanceView> LedgerdTest::balance_row(
    const std::string& account) const {
  return projections::balances::read(*connect_ledger_database(), account);
}

std::optional<ledger::AccountState> LedgerdTest::fold(const std::string& account) const {
  return ledger::fold_stream(*connect_ledger_database(), account, INT64_MAX);
}

std::vector<ledger::StoredEvent> LedgerdTest::stored_events(const std::string& account) const {
  return ledger::read_stream(*connect_ledger_database(), account, 0, 1'000'000);
}

void LedgerdTest::expect_consistent(const std::string& account) const {
  const auto row = balance_row(account);
  const auto state = fold(account);
  ASSERT_TRUE(row.has_value());
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(row->credits_available, state->credits_available);
  EXPECT_EQ(row->credits_reserved, state->credits_reserved);
  EXPECT_EQ(row->credits_granted, state->credits_granted);
  EXPECT_EQ(row->credits_spent, state->credits_spent);
  EXPECT_EQ(row->version, state->version);
  EXPECT_TRUE(ledger::full_invariants_hold(*state));
  std::string previous(32, '\0');
  for (const ledger::StoredEvent& event : stored_events(account)) {
    EXPECT_EQ(event.hash, ledger::event_hash(previous, event))
        << "version " << event.stream_version;
    previous = event.hash;
  }
}

rapidjson::Document parse_json(const std::string& body) {
  rapidjson::Document document;
  document.Parse(body.c_str(), body.size());
  EXPECT_FALSE(document.HasParseError()) << "not JSON: " << body;
  return document;
}

std::string error_code(const TestResponse& response) {
  rapidjson::Document document;
  document.Parse(response.body.c_str(), response.body.size());
  if (document.HasParseError() || !document.IsObject() || !document.HasMember("error") ||
      !document["error"].IsString()) {
    return "";
  }
  return document["error"].GetString();
}

std::string string_field(const rapidjson::Document& document, const char* name) {
  if (!document.IsObject() || !document.HasMember(name) || !document[name].IsString()) {
    ADD_FAILURE() << "no string field " << name;
    return "";
  }
  return document[name].GetString();
}

int64_t int_field(const rapidjson::Document& document, const char* name) {
  if (!document.IsObject() || !document.HasMember(name) || !document[name].IsInt64()) {
    ADD_FAILURE() << "no integer field " << name;
    return INT64_MIN;
  }
  return document[name].GetInt64();
}

std::string fresh_key() { return "key-" + crypto::uuid_v4(); }

std::string with_stray_last_bit(const std::string& token) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string tweaked = token;
  const std::size_t value = kAlphabet.find(tweaked.back());
  EXPECT_NE(value, std::string::npos) << token;
  tweaked.back() = kAlphabet[value ^ 1];
  return tweaked;
}

}  // namespace http_tests
