// The read path on the wire: GET /api/v1/credits and GET /api/v1/billing/subscription cost
// one database round trip each (one statement, no BEGIN/COMMIT pair), counted by a TCP relay
// between ledgerd and PostgreSQL.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using Clock = std::chrono::steady_clock;

class ReadPathTest : public WireCountedLedgerdTest {};

TEST_F(ReadPathTest, AProjectionReadIsOneRoundTrip) {
  const std::string alice = token("alice");
  // The first read opens the account (a command through the committer) and prepares the
  // statements of this worker's connection: warm every worker up before counting.
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 200);
    ASSERT_EQ(http_get(url("/api/v1/billing/subscription"), bearer(alice)).status, 200);
  }
  constexpr int kReads = 200;
  const int64_t before = round_trips();
  const auto started = Clock::now();
  for (int i = 0; i < kReads; ++i) {
    ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 200);
    ASSERT_EQ(http_get(url("/api/v1/billing/subscription"), bearer(alice)).status, 200);
  }
  const int64_t trips = round_trips() - before;
  EXPECT_GE(trips, 2 * kReads);
  EXPECT_LE(trips, 2 * kReads + probe_round_trips_max(Clock::now() - started))
      << "a read took more than one round trip";
}

}  // namespace
}  // namespace http_tests
