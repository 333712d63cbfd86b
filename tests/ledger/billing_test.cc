// Stripe billing rules: pure decisions and, through the committer on a real PostgreSQL,
// the 120 delivery orderings of one subscription's life.
#include <gtest/gtest.h>

#include <algorithm>

#include "ledger/billing_rules.h"
#include "ledger/committer.h"
#include "ledger/store.h"
#include "projections/balances.h"
#include "audit/verify.h"
#include "tests/ledger/ledger_test_support.h"
#include "tests/support/test_database.h"

namespace {

using namespace ledger;

PlanCatalog plans() { return ledger_tests::shipped_plans(); }

StripeBillingEvent stripe(std::string id, std::string type, int64_t created, std::string plan = "") {
  return ledger_tests::stripe_event(std::move(id), std::move(type), created, std::move(plan));
}

// The five deliveries of issue 4: checkout, first invoice, upgrade, renewal, deletion.
std::vector<StripeBillingEvent> life_of_a_subscription() {
  auto checkout = stripe("evt_checkout", "checkout.session.completed", 1000, "pro");
  auto first_invoice = stripe("evt_inv1", "invoice.paid", 1001, "pro");
  first_invoice.billing_reason = "subscription_create";
  first_invoice.period_start_s = 1000;
  first_invoice.period_end_s = 1000 + 30 * 86400;
  auto upgrade = stripe("evt_upgrade", "customer.subscription.updated", 2000, "business");
  upgrade.status = "active";
  upgrade.period_start_s = 1000;
  auto renewal = stripe("evt_inv2", "invoice.paid", 3000, "business");
  renewal.billing_reason = "subscription_cycle";
  renewal.period_start_s = 1000 + 30 * 86400;
  renewal.period_end_s = 1000 + 60 * 86400;
  auto deleted = stripe("evt_deleted", "customer.subscription.deleted", 4000);
  deleted.status = "canceled";
  return {checkout, first_invoice, upgrade, renewal, deleted};
}

class BillingRulesTest : public ::testing::Test {
 protected:
  Outcome run(const StripeBillingEvent& e) {
    Command command{"acct", e.stripe_event_id, e, {}};
    Decision d = decide_and_apply(state_, command, 1, plans_);
    last_outbox_ = d.outbox;
    return d.outcome;
  }
  // Spends `credits` through a reservation and its capture, as a user would.
  void spend(int64_t credits) {
    const std::string id = "spend-" + std::to_string(++spends_);
    Command reserve{"acct", id + "-r", ReserveCredits{credits, "humanize", 600, id}, {}};
    ASSERT_TRUE(decide_and_apply(state_, reserve, 1, plans_).outcome.ok());
    Command capture{"acct", id + "-c", CaptureReservation{id, credits}, {}};
    ASSERT_TRUE(decide_and_apply(state_, capture, 1, plans_).outcome.ok());
  }
  PlanCatalog plans_ = plans();
  AccountState state_ = empty_account("acct");
  std::vector<OutboxMessage> last_outbox_;
  int spends_ = 0;
};

TEST_F(BillingRulesTest, CheckoutStartsThePlanAndResetsToItsAllowance) {
  const auto events = life_of_a_subscription();
  ASSERT_TRUE(run(events[0]).ok());
  EXPECT_EQ(state_.plan_id, "pro");
  EXPECT_EQ(state_.credits_available, 10'000);
  EXPECT_EQ(state_.credits_expired, 300) << "the free leftover expires as an event";
  EXPECT_EQ(state_.subscription.status, "active");
  // The first invoice describes the same period: no second grant.
  const Outcome first_invoice = run(events[1]);
  EXPECT_EQ(first_invoice.note, "period_already_granted");
  EXPECT_EQ(state_.credits_available, 10'000);
  EXPECT_EQ(state_.credits_granted, 10'300);
}

TEST_F(BillingRulesTest, RenewalResetsToTheAllowance) {
  auto events = life_of_a_subscription();
  ASSERT_TRUE(run(events[0]).ok());
  spend(4'000);
  auto renewal = events[3];
  renewal.plan_id = "pro";
  ASSERT_TRUE(run(renewal).ok());
  EXPECT_EQ(state_.credits_available, 10'000);
  EXPECT_EQ(state_.credits_expired, 300 + 6'000);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BillingRulesTest, UpgradeGrantsTheDifferenceOnce) {
  auto events = life_of_a_subscription();
  ASSERT_TRUE(run(events[0]).ok());
  ASSERT_TRUE(run(events[2]).ok());
  EXPECT_EQ(state_.plan_id, "business");
  EXPECT_EQ(state_.credits_available, 50'000);
  auto again = events[2];
  again.stripe_event_id = "evt_upgrade_again";
  again.created_s = 2001;
  const int64_t granted_before = state_.credits_granted;
  EXPECT_TRUE(run(again).ok());
  EXPECT_EQ(state_.credits_granted, granted_before) << "no second difference grant";
  EXPECT_EQ(state_.credits_available, 50'000);
}

TEST_F(BillingRulesTest, DowngradeWaitsForTheNextPeriod) {
  auto events = life_of_a_subscription();
  auto business = events[0];
  business.plan_id = "business";
  ASSERT_TRUE(run(business).ok());
  auto downgrade = events[2];
  downgrade.plan_id = "pro";
  ASSERT_TRUE(run(downgrade).ok());
  EXPECT_EQ(state_.plan_id, "business");
  EXPECT_EQ(state_.subscription.scheduled_plan_id, "pro");
  EXPECT_EQ(state_.credits_available, 50'000);
  auto renewal = events[3];
  renewal.plan_id = "pro";
  ASSERT_TRUE(run(renewal).ok());
  EXPECT_EQ(state_.plan_id, "pro");
  EXPECT_EQ(state_.credits_available, 10'000);
  EXPECT_EQ(state_.subscription.scheduled_plan_id, "");
}

TEST_F(BillingRulesTest, DeletionResetsToFreeAndKeepsReservationsCapturable) {
  auto events = life_of_a_subscription();
  ASSERT_TRUE(run(events[0]).ok());
  Command reserve{"acct", "r", ReserveCredits{700, "humanize", 600, "res_1"}, {}};
  ASSERT_TRUE(decide_and_apply(state_, reserve, 1, plans_).outcome.ok());
  ASSERT_TRUE(run(events[4]).ok());
  EXPECT_EQ(state_.plan_id, "free");
  EXPECT_EQ(state_.credits_available, 300);
  EXPECT_EQ(state_.credits_reserved, 700);
  Command capture{"acct", "c", CaptureReservation{"res_1", 650}, {}};
  const Decision captured = decide_and_apply(state_, capture, 2, plans_);
  ASSERT_TRUE(captured.outcome.ok());
  EXPECT_EQ(state_.credits_available, 350);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BillingRulesTest, ARenewalRetriedAfterANewerEventStillGetsItsGrant) {
  auto events = life_of_a_subscription();
  ASSERT_TRUE(run(events[0]).ok());  // pro, first period
  spend(9'000);                      // in the first period
  auto toggle = stripe("evt_toggle", "customer.subscription.updated", 3500);  // newer
  toggle.status = "active";
  toggle.cancel_at_period_end = true;
  toggle.period_start_s = 1000 + 30 * 86400;  // already in the second period
  ASSERT_TRUE(run(toggle).ok());
  auto renewal = events[3];  // created 3000: older than the toggle
  renewal.plan_id = "pro";
  const Outcome late = run(renewal);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late.note, "late_renewal");
  EXPECT_EQ(state_.credits_available, 10'000);
  EXPECT_TRUE(state_.subscription.cancel_at_period_end) << "newer state untouched";
  auto again = renewal;
  again.stripe_event_id = "evt_inv2_again";
  EXPECT_EQ(run(again).note, "period_already_granted");
  EXPECT_EQ(state_.credits_available, 10'000);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BillingRulesTest, ProrationInvoiceNeitherGrantsNorRevertsThePlan) {
  auto events = life_of_a_subscription();
  ASSERT_TRUE(run(events[0]).ok());
  ASSERT_TRUE(run(events[2]).ok());  // upgrade to business: +40,000 at once
  auto proration = stripe("evt_proration", "invoice.paid", 2001, "pro");  // "Unused time on Pro"
  proration.billing_reason = "subscription_update";
  proration.period_start_s = 1500;
  const int64_t granted_before = state_.credits_granted;
  ASSERT_TRUE(run(proration).ok());
  EXPECT_EQ(state_.credits_granted, granted_before);
  EXPECT_EQ(state_.plan_id, "business");
  EXPECT_EQ(state_.credits_available, 50'000);
  EXPECT_EQ(state_.subscription.status, "active");
}

TEST_F(BillingRulesTest, EventsOfAnotherSubscriptionLeaveTheCurrentOneAlone) {
  auto events = life_of_a_subscription();
  ASSERT_TRUE(run(events[0]).ok());  // sub_1 on pro
  auto second = stripe("evt_checkout_2", "checkout.session.completed", 5000, "business");
  second.subscription_id = "sub_2";
  ASSERT_TRUE(run(second).ok());
  EXPECT_EQ(state_.subscription.subscription_id, "sub_2");
  auto old_deleted = stripe("evt_deleted_1", "customer.subscription.deleted", 6000);  // sub_1
  EXPECT_EQ(run(old_deleted).note, "other_subscription");
  EXPECT_EQ(state_.plan_id, "business");
  EXPECT_EQ(state_.credits_available, 50'000);
  EXPECT_EQ(state_.subscription.status, "active");
}

TEST_F(BillingRulesTest, OlderEventNeverOverridesNewerState) {
  auto events = life_of_a_subscription();
  ASSERT_TRUE(run(events[4]).ok());  // deletion (newest) first
  EXPECT_EQ(state_.credits_available, 300);
  for (int i : {0, 1, 2, 3}) {
    EXPECT_EQ(run(events[i]).note, "superseded") << i;
  }
  EXPECT_EQ(state_.plan_id, "free");
  EXPECT_EQ(state_.subscription.status, "canceled");
  EXPECT_EQ(state_.credits_available, 300);
}

TEST_F(BillingRulesTest, PaymentFailedMarksPastDueAndQueuesAnEmail) {
  auto events = life_of_a_subscription();
  ASSERT_TRUE(run(events[0]).ok());
  auto failed = stripe("evt_failed", "invoice.payment_failed", 1500);
  failed.invoice_id = "in_9";
  ASSERT_TRUE(run(failed).ok());
  EXPECT_EQ(state_.subscription.status, "past_due");
  ASSERT_EQ(last_outbox_.size(), 1u);
  EXPECT_EQ(last_outbox_[0].kind, "email.payment_failed");
  EXPECT_NE(last_outbox_[0].payload_json.find("in_9"), std::string::npos);
}

TEST_F(BillingRulesTest, UnknownPlanOrMissingIdsAreRejected) {
  auto e = life_of_a_subscription()[0];
  e.plan_id = "platinum";
  EXPECT_EQ(run(e).rejection, Rejection::kInvalidCommand);
  e = life_of_a_subscription()[0];
  e.subscription_id = "";
  EXPECT_EQ(run(e).rejection, Rejection::kInvalidCommand);
  EXPECT_FALSE(state_.opened);
}

struct FinalState {
  std::string plan;
  std::string status;
  int64_t available;
  int64_t reserved;
  bool operator==(const FinalState&) const = default;
};

TEST(BillingOrderings, All120OrderingsEndInTheSameStateAndVerifyClean) {
  testing_support::TestDatabase db;
  const PlanCatalog catalog = plans();
  CommitterOptions options;
  options.database_url = db.url();
  options.sweep_interval_ms = 0;
  auto committer = Committer::start(options, catalog);
  auto connection = db.connect();
  auto reads = db.connect_pg();
  std::vector<int> order{0, 1, 2, 3, 4};
  const auto events = life_of_a_subscription();
  std::optional<FinalState> expected;
  int orderings = 0;
  do {
    const std::string account = "perm-" + std::to_string(orderings);
    for (int index : order) {
      for (int delivery = 0; delivery < 2; ++delivery) {  // each delivered twice
        Command command{account, "stripe:" + events[index].stripe_event_id, events[index], {}};
        ASSERT_TRUE(committer->submit(command).get().ok());
      }
    }
    const auto balance = projections::balances::read(*reads, account);
    pqxx::read_transaction work(*connection);
    const auto sub = work.exec_params1(
        "SELECT status FROM ledger_subscriptions WHERE account_id = $1", account);
    work.commit();
    const FinalState final_state{balance->plan_id, sub[0].as<std::string>(),
                                 balance->credits_available, balance->credits_reserved};
    if (!expected) expected = final_state;
    EXPECT_EQ(final_state, *expected) << "ordering " << orderings;
    ++orderings;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(orderings, 120);
  EXPECT_EQ(expected->plan, "free");
  EXPECT_EQ(expected->status, "canceled");
  EXPECT_EQ(expected->available, 300);
  const auto report = audit::verify_ledger(*reads);
  EXPECT_TRUE(report.clean) << report.problem << " " << report.stream_id;
}

}  // namespace
