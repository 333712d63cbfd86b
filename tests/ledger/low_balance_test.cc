// The low-balance alert as pure decisions: a reservation that takes credits_available from
// at or above the plan's threshold to below it queues one email.low_balance; further
// reservations below it queue none until the balance is back at or above it (a release);
// plans without a threshold never alert; a refused reservation alerts nobody.
#include <gtest/gtest.h>

#include <variant>

#include "ledger/commands.h"
#include "ledger/plans.h"

namespace {

using namespace ledger;

PlanCatalog plans_with_threshold(int64_t threshold) {
  const std::string text = R"({"plans":[{"id":"free","monthly_credits":300,)"
                           R"("low_balance_threshold":)" +
                           std::to_string(threshold) +
                           R"(,"pricing":{"humanize":{"base_words":100,"base_credits":40},)"
                           R"("detect":{"base_words":100,"base_credits":10}}}]})";
  auto parsed = PlanCatalog::parse(text);
  EXPECT_TRUE(std::holds_alternative<PlanCatalog>(parsed)) << std::get<std::string>(parsed);
  return std::get<PlanCatalog>(std::move(parsed));
}

class LowBalanceTest : public ::testing::Test {
 protected:
  Decision reserve(int64_t amount) {
    const std::string id = "r" + std::to_string(++commands_);
    return decide_and_apply(state_,
                            {"acct", "k" + id, ReserveCredits{amount, "humanize", 600, id}, {}},
                            commands_, plans_);
  }
  Decision release(const std::string& id) {
    ++commands_;
    return decide_and_apply(state_, {"acct", "rel" + id, ReleaseReservation{id}, {}}, commands_,
                            plans_);
  }
  static int alerts(const Decision& d) {
    int n = 0;
    for (const OutboxMessage& message : d.outbox) n += message.kind == kLowBalanceKind ? 1 : 0;
    return n;
  }

  PlanCatalog plans_ = plans_with_threshold(100);
  AccountState state_ = empty_account("acct");
  int64_t commands_ = 0;
};

TEST_F(LowBalanceTest, OneAlertPerCrossingBelowTheThreshold) {
  EXPECT_EQ(alerts(reserve(150)), 0);  // 300 -> 150: still at or above 100
  EXPECT_EQ(state_.credits_available, 150);
  EXPECT_EQ(alerts(reserve(50)), 0);     // 150 -> 100: at the threshold is not below it
  const Decision crossing = reserve(1);  // 100 -> 99
  ASSERT_EQ(alerts(crossing), 1);
  EXPECT_EQ(crossing.outbox.back().payload_json,
            R"({"account_id":"acct","plan_id":"free","credits_available":99,"threshold":100})");
  EXPECT_EQ(alerts(reserve(10)), 0) << "already below: no repeat";
  EXPECT_EQ(alerts(reserve(89)), 0);  // down to 0
  // Back at or above the threshold (150 released), then below again: a second alert.
  EXPECT_EQ(alerts(release("r1")), 0);
  EXPECT_EQ(state_.credits_available, 150);
  EXPECT_EQ(alerts(reserve(51)), 1);
}

TEST_F(LowBalanceTest, RefusedReservationsAndPlansWithoutAThresholdNeverAlert) {
  EXPECT_EQ(alerts(reserve(250)), 1);  // 300 -> 50
  const Decision refused = reserve(1000);
  EXPECT_EQ(refused.outcome.rejection, Rejection::kInsufficientCredits);
  EXPECT_TRUE(refused.outbox.empty());
  plans_ = plans_with_threshold(0);
  state_ = empty_account("acct");
  EXPECT_EQ(alerts(reserve(299)), 0);
}

TEST(LowBalancePlans, TheThresholdIsANonNegativeInteger) {
  for (const char* bad : {"-1", "1.5", "\"10\"", "1000000001"}) {
    const std::string text =
        std::string(R"({"plans":[{"id":"free","monthly_credits":300,"low_balance_threshold":)") +
        bad +
        R"(,"pricing":{"humanize":{"base_words":100,"base_credits":40},)"
        R"("detect":{"base_words":100,"base_credits":10}}}]})";
    const auto parsed = PlanCatalog::parse(text);
    ASSERT_TRUE(std::holds_alternative<std::string>(parsed)) << bad;
    EXPECT_NE(std::get<std::string>(parsed).find("low_balance_threshold"), std::string::npos);
  }
}

}  // namespace
