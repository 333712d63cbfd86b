// Limits on clients that are not (yet) anyone: a client address that keeps failing
// authentication is refused with 429 before its credential is looked at (no API key lookup
// reaches the database, counted on the wire), for every credential kind, while other
// addresses go on; X-Forwarded-For counts only behind --trust_forwarded_for. Connections
// above --connections_max are answered 503 and closed at once while the open ones are
// served, and every way a connection ends (client close, Pistache's own timeouts) gives its
// place back.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "crypto/digest.h"
#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::RawConnection;
using Clock = std::chrono::steady_clock;

const char* const kSecondLoopbackAddress = "127.0.0.2";

// Well formed, so ledgerd looks it up in the database; never created.
std::string unknown_api_key() { return "lk_0123456789abcdef_" + crypto::uuid_v4(); }

TestHeaders with_forwarded_for(TestHeaders headers, const std::string& forwarded_for) {
  headers.emplace_back("X-Forwarded-For", forwarded_for);
  return headers;
}

std::string raw_get(const std::string& path, const std::string& authorization = "") {
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: ledgerd\r\n";
  if (!authorization.empty()) request += "Authorization: Bearer " + authorization + "\r\n";
  return request + "\r\n";
}

int64_t elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// Expects the 429 of the failed-authentication limit: retry_after within the window's
// refill time of one failure, and the same Retry-After header.
void expect_address_limited(const TestResponse& response, int64_t retry_after_max) {
  ASSERT_EQ(response.status, 429) << response.body;
  const rapidjson::Document body = parse_json(response.body);
  EXPECT_EQ(string_field(body, "error"), "rate_limit_exceeded");
  const int64_t retry_after = int_field(body, "retry_after");
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, retry_after_max);
  EXPECT_EQ(response.header("retry-after"), std::to_string(retry_after));
}

class AuthFailureLimitTest : public WireCountedLedgerdTest {
 protected:
  // 5 failures per 60 s: one failure refills in 12 s.
  static constexpr int64_t kFailuresMax = 5;
  static constexpr int64_t kRefillS = 12;
  std::vector<std::string> ledgerd_flags() const override {
    std::vector<std::string> flags = WireCountedLedgerdTest::ledgerd_flags();
    flags.insert(flags.end(), {"--auth_failures_max=5", "--auth_failure_window_s=60"});
    return flags;
  }
};

TEST_F(AuthFailureLimitTest, AnAddressOverItsFailuresIs429ForEveryCredentialWithoutADatabaseLookup) {
  const std::string admin_key = create_key("ops", {"admin"});
  const std::string alice = token("alice");
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 200);

  // Failures under the limit are plain 401s, and each unknown key is looked up.
  const int64_t before_failures = round_trips();
  for (int i = 0; i < kFailuresMax; ++i) {
    const TestResponse refused = http_get(url("/api/v1/credits"), bearer(unknown_api_key()));
    ASSERT_EQ(refused.status, 401) << refused.body;
  }
  EXPECT_GE(round_trips() - before_failures, kFailuresMax);

  // Over the limit: 429 before the credential is read. X-Forwarded-For is not trusted by
  // default, so changing it changes nothing.
  const int64_t before_refusals = round_trips();
  const Clock::time_point refusals_started = Clock::now();
  for (int i = 0; i < 50; ++i) {
    expect_address_limited(
        http_get(url("/api/v1/credits"),
                 with_forwarded_for(bearer(unknown_api_key()), "198.51.100." + std::to_string(i))),
        kRefillS);
  }
  const auto refusals_elapsed = Clock::now() - refusals_started;
  const int64_t refusal_round_trips = round_trips() - before_refusals;
  EXPECT_LE(refusal_round_trips, probe_round_trips_max(refusals_elapsed));
  std::printf("50 refusals in %lld ms cost %lld round trips (the probe's alone)\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(refusals_elapsed).count()),
              static_cast<long long>(refusal_round_trips));

  // Every credential kind of that address, valid ones included.
  expect_address_limited(http_get(url("/api/v1/credits"), bearer(alice)), kRefillS);
  expect_address_limited(http_get(url("/api/v1/admin/accounts/alice/balance"), bearer(admin_key)),
                         kRefillS);
  expect_address_limited(http_get(url("/api/v1/credits"), {}), kRefillS);
  expect_address_limited(http_get(url("/api/v1/credits"), {{"Authorization", "Basic eDp5"}}),
                         kRefillS);
  expect_address_limited(reserve(alice, 5), kRefillS);
  EXPECT_EQ(balance_row("alice")->credits_reserved, 0);
  // Routes without authentication are not affected.
  EXPECT_EQ(http_get(url("/api/v1/health"), {}).status, 200);

  // Another address is judged on its own failures.
  const std::string other_alice = testing_support::raw_http_exchange(
      ledgerd_->port(), raw_get("/api/v1/credits", alice), 5'000, kSecondLoopbackAddress);
  EXPECT_EQ(other_alice.rfind("HTTP/1.1 200", 0), 0u) << other_alice;
  const std::string other_unknown = testing_support::raw_http_exchange(
      ledgerd_->port(), raw_get("/api/v1/credits", unknown_api_key()), 5'000,
      kSecondLoopbackAddress);
  EXPECT_EQ(other_unknown.rfind("HTTP/1.1 401", 0), 0u) << other_unknown;
  const std::string metrics = http_get(url("/metrics"), {}).body;
  EXPECT_EQ(testing_support::metric_sample(metrics, "ledger_auth_failure_addresses"), 2.0);
}

class ForwardedForTest : public LedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--auth_failures_max=3", "--trust_forwarded_for"};
  }
};

TEST_F(ForwardedForTest, TrustedProxiesLastAddressIsTheClient) {
  const std::string alice = token("alice");
  for (int i = 0; i < 3; ++i) {
    // A client-supplied first entry is ignored: the proxy's appended address counts.
    const TestResponse refused = http_get(
        url("/api/v1/credits"),
        with_forwarded_for(bearer(unknown_api_key()), "10.0.0." + std::to_string(i) + ", 203.0.113.7"));
    ASSERT_EQ(refused.status, 401) << refused.body;
  }
  expect_address_limited(
      http_get(url("/api/v1/credits"), with_forwarded_for(bearer(alice), "203.0.113.7")), 20);
  expect_address_limited(
      http_get(url("/api/v1/credits"),
               with_forwarded_for(bearer(alice), "203.0.113.8, 203.0.113.7")),
      20);
  EXPECT_EQ(http_get(url("/api/v1/credits"), with_forwarded_for(bearer(alice), "203.0.113.8"))
                .status,
            200);
  EXPECT_EQ(http_get(url("/api/v1/credits"),
                     with_forwarded_for(bearer(unknown_api_key()), "203.0.113.8"))
                .status,
            401);
  // Without the header (or with a value that is no address) the peer address counts.
  EXPECT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 200);
  EXPECT_EQ(
      http_get(url("/api/v1/credits"), with_forwarded_for(bearer(alice), "unknown")).status, 200);
}

class ConnectionCapTest : public LedgerdTest {
 protected:
  static constexpr int kConnectionsMax = 8;
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--connections_max=8", "--header_timeout_ms=20000",
            "--keepalive_timeout_ms=20000"};
  }
  // Polled on this thread's kept-alive connection, which counts itself.
  bool open_connections_become(double count) {
    return testing_support::wait_for_metric(url("/metrics"), "ledger_open_connections", count);
  }
};

TEST_F(ConnectionCapTest, ConnectionsAboveTheCapAre503AndClosedWhileTheOpenOnesAreServed) {
  // This thread's keep-alive connection, then idle connections up to the cap.
  ASSERT_EQ(http_get(url("/api/v1/health"), {}).status, 200);
  ASSERT_TRUE(open_connections_become(1));
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 1; i < kConnectionsMax; ++i) {
    held.push_back(std::make_unique<RawConnection>(ledgerd_->port()));
    ASSERT_TRUE(held.back()->connected());
  }
  ASSERT_TRUE(open_connections_become(kConnectionsMax));

  int64_t refusal_ms_max = 0;
  for (int i = 0; i < 5; ++i) {
    RawConnection extra(ledgerd_->port());
    ASSERT_TRUE(extra.connected());
    const Clock::time_point started = Clock::now();
    extra.send(raw_get("/api/v1/health"));
    const std::string answer = extra.receive(3'000, false);
    refusal_ms_max = std::max(refusal_ms_max, elapsed_ms(started));
    EXPECT_EQ(answer.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << answer;
    EXPECT_NE(answer.find("\r\n\r\n{\"error\":\"service_unavailable\",\"retry_after\":1}"),
              std::string::npos)
        << answer;
    EXPECT_TRUE(extra.closed_by_server());
  }
  EXPECT_LT(refusal_ms_max, 1'000);
  std::printf("refused connections answered and closed within %lld ms\n",
              static_cast<long long>(refusal_ms_max));

  // The connections inside the cap are served as before, and the refused ones are gone.
  EXPECT_EQ(http_get(url("/api/v1/health"), {}).status, 200);
  held.front()->send(raw_get("/api/v1/health"));
  const std::string served = held.front()->receive(3'000);
  EXPECT_EQ(served.rfind("HTTP/1.1 200", 0), 0u) << served;
  EXPECT_TRUE(open_connections_become(kConnectionsMax));
  const std::string metrics = http_get(url("/metrics"), {}).body;
  EXPECT_EQ(testing_support::metric_sample(metrics, "ledger_connections_refused_total"), 5.0);

  // Closed connections give their places back.
  held.clear();
  EXPECT_TRUE(open_connections_become(1));
  const std::string fresh =
      testing_support::raw_http_exchange(ledgerd_->port(), raw_get("/api/v1/health"));
  EXPECT_EQ(fresh.rfind("HTTP/1.1 200", 0), 0u) << fresh;
}

class ConnectionTimeoutTest : public ConnectionCapTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--connections_max=3", "--header_timeout_ms=400"};
  }
};

// Pistache ends connections that time out without telling the handler (no onDisconnection):
// the count follows each connection's lifetime, so those places come back too.
TEST_F(ConnectionTimeoutTest, ConnectionsClosedByTimeoutsGiveTheirPlacesBack) {
  ASSERT_EQ(http_get(url("/api/v1/health"), {}).status, 200);
  ASSERT_TRUE(open_connections_become(1));
  RawConnection silent_first(ledgerd_->port());
  RawConnection silent_second(ledgerd_->port());
  ASSERT_TRUE(open_connections_become(3));
  const std::string refused =
      testing_support::raw_http_exchange(ledgerd_->port(), raw_get("/api/v1/health"));
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  // The silent connections never send a request line: the header timeout ends them.
  EXPECT_EQ(silent_first.receive(5'000, false).rfind("HTTP/1.1 408", 0), 0u);
  EXPECT_TRUE(silent_first.closed_by_server());
  EXPECT_TRUE(open_connections_become(1));
  const std::string served =
      testing_support::raw_http_exchange(ledgerd_->port(), raw_get("/api/v1/health"));
  EXPECT_EQ(served.rfind("HTTP/1.1 200", 0), 0u) << served;
}

}  // namespace
}  // namespace http_tests
