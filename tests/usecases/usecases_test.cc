// The use cases below HTTP, without a server: a real committer on a throwaway PostgreSQL.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <variant>

#include "audit/verify.h"
#include "ledger/committer.h"
#include "projections/balances.h"
#include "projections/reservations.h"
#include "tests/ledger/ledger_test_support.h"
#include "tests/support/test_database.h"
#include "usecases/account.h"
#include "usecases/charge.h"

namespace {

using ledger::Outcome;
using ledger::Rejection;
using testing_support::TestDatabase;
using usecases::LedgerFailure;
using usecases::Refusal;
using usecases::RequestCharge;

class UsecasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger::CommitterOptions options;
    options.database_url = db_.url();
    options.sweep_interval_ms = 0;
    committer_ = ledger::Committer::start(options, plans_);
    reads_ = db_.connect_pg();
    submit_ = [this](ledger::Command command) -> usecases::Submitted {
      submitted_ += 1;
      return committer_->submit(std::move(command)).get();
    };
  }
  void TearDown() override {
    const auto report = audit::verify_ledger(*reads_);
    EXPECT_TRUE(report.clean) << report.problem << " at " << report.stream_id;
  }
  RequestCharge charge(const std::string& account, const std::string& key_base) {
    return RequestCharge(account, metadata_, key_base, submit_, *reads_);
  }
  projections::balances::BalanceView balance(const std::string& account) {
    auto view = projections::balances::read(*reads_, account);
    EXPECT_TRUE(view.has_value());
    return view.value_or(projections::balances::BalanceView{});
  }

  TestDatabase db_;
  ledger::PlanCatalog plans_ = ledger_tests::shipped_plans();
  std::unique_ptr<ledger::Committer> committer_;
  std::unique_ptr<pg::Connection> reads_;
  usecases::CommandSubmitter submit_;
  ledger::EventMetadata metadata_{};
  int submitted_ = 0;
};

TEST_F(UsecasesTest, TheFirstRequestOpensTheAccountOnTheFreePlan) {
  auto plan = usecases::account_plan(*reads_, plans_, submit_, "ann", metadata_);
  ASSERT_TRUE(std::holds_alternative<const ledger::Plan*>(plan));
  EXPECT_EQ(std::get<const ledger::Plan*>(plan)->id, ledger::PlanCatalog::kFreePlanId);
  auto view = usecases::current_credits(*reads_, submit_, "ann", metadata_);
  ASSERT_TRUE(std::holds_alternative<projections::balances::BalanceView>(view));
  EXPECT_EQ(std::get<projections::balances::BalanceView>(view).credits_available, 300);
  const int after_open = submitted_;
  // Open accounts are read, not opened again.
  view = usecases::current_credits(*reads_, submit_, "ann", metadata_);
  ASSERT_TRUE(std::holds_alternative<projections::balances::BalanceView>(view));
  EXPECT_EQ(submitted_, after_open);
}

TEST_F(UsecasesTest, AChargeCapturesWhatWasDeliveredAndReleasesTheRest) {
  ASSERT_TRUE(std::holds_alternative<Outcome>(usecases::open_account(submit_, "bea", metadata_)));
  RequestCharge first = charge("bea", "k1#humanize");
  ASSERT_FALSE(first.reserve(10, "humanize", 600).has_value());
  EXPECT_EQ(balance("bea").credits_reserved, 10);
  auto captured = first.capture(7);
  ASSERT_TRUE(std::holds_alternative<Outcome>(captured));
  EXPECT_EQ(std::get<Outcome>(captured).credits_available, 293);
  EXPECT_EQ(balance("bea").credits_available, 293);
  EXPECT_EQ(balance("bea").credits_reserved, 0);

  // The same key again: that request was charged, so it is a conflict, not a second charge.
  RequestCharge retried = charge("bea", "k1#humanize");
  auto refused = retried.reserve(10, "humanize", 600);
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(std::holds_alternative<usecases::IdempotencyConflict>(*refused));
  EXPECT_EQ(balance("bea").credits_available, 293);
}

TEST_F(UsecasesTest, AKeyWhoseReservationWasReleasedChainsToANewChargeOnce) {
  ASSERT_TRUE(std::holds_alternative<Outcome>(usecases::open_account(submit_, "cai", metadata_)));
  RequestCharge failed = charge("cai", "k#detect");
  ASSERT_FALSE(failed.reserve(20, "detect", 600).has_value());
  ASSERT_TRUE(failed.release());
  EXPECT_EQ(balance("cai").credits_available, 300);

  RequestCharge retried = charge("cai", "k#detect");
  ASSERT_FALSE(retried.reserve(20, "detect", 600).has_value());
  EXPECT_NE(retried.reservation_id(), failed.reservation_id());
  ASSERT_TRUE(std::holds_alternative<Outcome>(retried.capture(20)));
  EXPECT_EQ(
      projections::reservations::read_status(*reads_, "cai", failed.reservation_id()).value_or(""),
      "released");
  EXPECT_EQ(balance("cai").credits_available, 280);

  // A key released over and over ends in a conflict after kReservationAttemptsMax links.
  ASSERT_TRUE(std::holds_alternative<Outcome>(usecases::open_account(submit_, "dan", metadata_)));
  for (int i = 0; i < usecases::kReservationAttemptsMax; ++i) {
    RequestCharge attempt = charge("dan", "loop");
    ASSERT_FALSE(attempt.reserve(1, "detect", 600).has_value()) << i;
    ASSERT_TRUE(attempt.release());
  }
  auto exhausted = charge("dan", "loop").reserve(1, "detect", 600);
  ASSERT_TRUE(exhausted.has_value());
  EXPECT_TRUE(std::holds_alternative<usecases::IdempotencyConflict>(*exhausted));
  EXPECT_EQ(balance("dan").credits_available, 300);
  EXPECT_EQ(balance("dan").credits_reserved, 0);
}

TEST_F(UsecasesTest, RefusalsAreValuesAndChangeNothing) {
  ASSERT_TRUE(std::holds_alternative<Outcome>(usecases::open_account(submit_, "eve", metadata_)));
  auto refused = charge("eve", "big").reserve(301, "humanize", 600);
  ASSERT_TRUE(refused.has_value());
  ASSERT_TRUE(std::holds_alternative<Outcome>(*refused));
  EXPECT_EQ(std::get<Outcome>(*refused).rejection, Rejection::kInsufficientCredits);
  EXPECT_EQ(std::get<Outcome>(*refused).credits_needed, 301);
  EXPECT_EQ(balance("eve").credits_reserved, 0);

  // A ledger that gives no outcome: the failure comes back as it is, nothing is reserved.
  const usecases::CommandSubmitter down = [](ledger::Command) -> usecases::Submitted {
    return LedgerFailure::kOverloaded;
  };
  RequestCharge unavailable("eve", metadata_, "down", down, *reads_);
  auto failed = unavailable.reserve(5, "humanize", 600);
  ASSERT_TRUE(failed.has_value());
  ASSERT_TRUE(std::holds_alternative<LedgerFailure>(*failed));
  EXPECT_EQ(std::get<LedgerFailure>(*failed), LedgerFailure::kOverloaded);
  auto plan = usecases::account_plan(*reads_, plans_, down, "never-opened", metadata_);
  ASSERT_TRUE(std::holds_alternative<Refusal>(plan));
  EXPECT_TRUE(std::holds_alternative<LedgerFailure>(std::get<Refusal>(plan)));
  EXPECT_FALSE(projections::balances::read(*reads_, "never-opened").has_value());
  EXPECT_EQ(balance("eve").credits_available, 300);
}

}  // namespace
