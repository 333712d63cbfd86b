// The one backoff of the ledger (ledger/backoff.h).
#include "ledger/backoff.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace {

using ledger::exponential_backoff;

TEST(ExponentialBackoff, DoublesFromTheBaseUpToTheMaximum) {
  EXPECT_EQ(exponential_backoff(10, 0, 1'000), 10);
  EXPECT_EQ(exponential_backoff(10, 1, 1'000), 20);
  EXPECT_EQ(exponential_backoff(10, 6, 1'000), 640);
  EXPECT_EQ(exponential_backoff(10, 7, 1'000), 1'000);
  EXPECT_EQ(exponential_backoff(5'000, 3, 3'600'000), 40'000);
  EXPECT_EQ(exponential_backoff(1'000, 12, 3'600'000), 3'600'000);
}

TEST(ExponentialBackoff, NeverOverflows) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(exponential_backoff(3, 62, max), max);
  EXPECT_EQ(exponential_backoff(3, 1'000, max), max);
  EXPECT_EQ(exponential_backoff(int64_t{1} << 40, 30, max), max);
  EXPECT_EQ(exponential_backoff(1, 61, max), int64_t{1} << 61);
  EXPECT_EQ(exponential_backoff(5'000, 40, 3'600'000), 3'600'000);
}

}  // namespace
