// /api/v1/health and /metrics answer from the database probe's cached facts: a flood of
// both costs the database only the probe's own queries (counted on the wire between
// ledgerd and PostgreSQL), and the open-reservation gauge still follows the ledger within
// its refresh interval. (A database outage turning /health into 503: resilience_test.cc.)
#include <gtest/gtest.h>

#include <chrono>

#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using Clock = std::chrono::steady_clock;

class HealthCacheTest : public WireCountedLedgerdTest {};

TEST_F(HealthCacheTest, AFloodOfHealthAndMetricsCostsOnlyTheProbesQueries) {
  ASSERT_EQ(http_get(url("/api/v1/health"), {}).status, 200);
  const double probe_queries_before =
      testing_support::metric_sample(http_get(url("/metrics"), {}).body,
                                     "ledger_database_probe_queries_total")
          .value_or(-1);
  ASSERT_GE(probe_queries_before, 1);  // the first round ran before ledgerd listened

  const int64_t before = round_trips();
  const Clock::time_point started = Clock::now();
  int healthy = 0;
  int scraped = 0;
  for (int i = 0; i < 500; ++i) healthy += http_get(url("/api/v1/health"), {}).status == 200;
  std::string last_scrape;
  for (int i = 0; i < 100; ++i) {
    const TestResponse metrics = http_get(url("/metrics"), {});
    scraped += metrics.status == 200;
    last_scrape = metrics.body;
  }
  const auto elapsed = Clock::now() - started;
  const int64_t flood_round_trips = round_trips() - before;
  EXPECT_EQ(healthy, 500);
  EXPECT_EQ(scraped, 100);
  // 600 calls; before the cache each one was a query.
  EXPECT_LE(flood_round_trips, probe_round_trips_max(elapsed));
  EXPECT_EQ(testing_support::metric_sample(last_scrape, "ledger_open_reservations"), 0.0);
  const double probe_queries = testing_support::metric_sample(
                                   last_scrape, "ledger_database_probe_queries_total")
                                   .value_or(-1);
  EXPECT_LE(probe_queries - probe_queries_before, probe_round_trips_max(elapsed));
  std::printf("500 /health + 100 /metrics in %lld ms: %lld round trips to PostgreSQL\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()),
              static_cast<long long>(flood_round_trips));
}

class GaugeRefreshTest : public WireCountedLedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    std::vector<std::string> flags = WireCountedLedgerdTest::ledgerd_flags();
    flags.push_back("--metrics_refresh_ms=300");
    return flags;
  }
};

TEST_F(GaugeRefreshTest, OpenReservationsFollowTheLedgerWithinTheRefreshInterval) {
  const std::string alice = token("alice");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(reserve(alice, 5).status, 201);
  // At most one refresh interval plus one probe round (1 s) later.
  const Clock::time_point reserved_at = Clock::now();
  EXPECT_TRUE(testing_support::wait_for_metric(url("/metrics"), "ledger_open_reservations", 3,
                                               3'000));
  std::printf("the gauge showed 3 open reservations after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         Clock::now() - reserved_at)
                                         .count()));
}

}  // namespace
}  // namespace http_tests
