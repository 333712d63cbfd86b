// The day a capture counts under (projections::usage::day_of) against the RFC 3339 formatter
// it replaced on the scan's path.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "ledger/time_format.h"
#include "projections/usage.h"

namespace {

TEST(UsageDayTest, MatchesTheDateOfTheRfc3339Text) {
  const std::vector<int64_t> instants = {
      0,                       // 1970-01-01
      -1,                      // 1969-12-31, a microsecond before the epoch
      951'782'400'000'000,     // 2000-02-29, a leap day
      951'868'799'999'999,     // its last microsecond
      1'798'761'599'999'999,   // 2026-12-31T23:59:59.999999Z
      1'798'761'600'000'000,   // 2027-01-01
      4'102'444'800'000'000,   // 2100-01-01 (2100 is not a leap year)
      253'402'300'799'000'000  // 9999-12-31T23:59:59Z
  };
  for (const int64_t at : instants) {
    EXPECT_EQ(projections::usage::day_of(at), ledger::format_rfc3339(at).substr(0, 10)) << at;
  }
  // Every hour across four years, leap days included.
  for (int64_t at = 1'700'000'000'000'000; at < 1'826'000'000'000'000; at += 3'600'000'000) {
    ASSERT_EQ(projections::usage::day_of(at), ledger::format_rfc3339(at).substr(0, 10)) << at;
  }
  EXPECT_EQ(projections::usage::day_of(951'782'400'000'000), "2000-02-29");
}

}  // namespace
