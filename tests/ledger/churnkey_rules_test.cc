// Churnkey sessions in the ledger, as pure decisions: every delivery is recorded; only a
// live cancellation of a live subscription that is not cancelling yet sets
// cancel_at_period_end and queues the Stripe call; credits never move; the recorded event
// round-trips through its stored encoding.
#include <gtest/gtest.h>

#include "crypto/digest.h"
#include "ledger/commands.h"
#include "ledger/events.h"
#include "tests/ledger/ledger_test_support.h"

namespace {

using namespace ledger;

ChurnkeySessionEvent session(std::string delivery_id, std::string result) {
  ChurnkeySessionEvent e;
  e.delivery_id = std::move(delivery_id);
  e.event_name = "session";
  e.result = std::move(result);
  e.session_id = "sess_1";
  e.survey_response = "too_expensive";
  e.feedback = "I only needed it for one project";
  return e;
}

class ChurnkeyRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StripeBillingEvent checkout;
    checkout.stripe_event_id = "evt_checkout";
    checkout.type = "checkout.session.completed";
    checkout.created_s = 1000;
    checkout.customer_id = "cus_1";
    checkout.subscription_id = "sub_1";
    checkout.plan_id = "pro";
    ASSERT_TRUE(decide_and_apply(state_, {"acct", "stripe:evt_checkout", checkout, {}}, 1, plans_)
                    .outcome.ok());
  }

  Decision run(const ChurnkeySessionEvent& e) {
    return decide_and_apply(state_, {"acct", "churnkey:" + e.delivery_id, e, {}}, 2, plans_);
  }

  PlanCatalog plans_ = ledger_tests::shipped_plans();
  AccountState state_ = empty_account("acct");
};

TEST_F(ChurnkeyRulesTest, ACancellationSetsCancelAtPeriodEndAndQueuesTheStripeCall) {
  const AccountState before = state_;
  const Decision d = run(session("ck_1", "cancel"));
  ASSERT_TRUE(d.outcome.ok());
  EXPECT_EQ(d.outcome.note, "cancel_requested");
  ASSERT_EQ(d.events.size(), 2u);
  const auto* recorded = std::get_if<ChurnkeySessionRecorded>(&d.events[0]);
  ASSERT_NE(recorded, nullptr);
  EXPECT_EQ(recorded->action, "cancel_requested");
  EXPECT_EQ(recorded->survey_response, "too_expensive");
  const auto* changed = std::get_if<SubscriptionChanged>(&d.events[1]);
  ASSERT_NE(changed, nullptr);
  EXPECT_TRUE(changed->cancel_at_period_end);
  EXPECT_EQ(changed->status, before.subscription.status);
  EXPECT_EQ(changed->plan_id, "pro");
  EXPECT_TRUE(state_.subscription.cancel_at_period_end);
  EXPECT_EQ(state_.subscription.watermark_created_s, before.subscription.watermark_created_s)
      << "a Churnkey cancellation does not move the Stripe watermark";
  // Credits and plan are untouched until Stripe deletes the subscription.
  EXPECT_EQ(state_.plan_id, "pro");
  EXPECT_EQ(state_.credits_available, before.credits_available);
  EXPECT_EQ(state_.credits_granted, before.credits_granted);
  ASSERT_EQ(d.outbox.size(), 2u);
  EXPECT_EQ(d.outbox[0].kind, kStripeCancelAtPeriodEndKind);
  EXPECT_EQ(d.outbox[1].kind, kCancellationConfirmedKind);
  EXPECT_NE(d.outbox[1].payload_json.find(R"("period_end_s":)" +
                                          std::to_string(before.subscription.period_end_s)),
            std::string::npos)
      << d.outbox[1].payload_json;
  EXPECT_NE(d.outbox[0].payload_json.find(R"("subscription_id":"sub_1")"), std::string::npos);
  EXPECT_NE(d.outbox[0].payload_json.find(R"("idempotency_key":"churnkey-cancel-)" +
                                           crypto::hex_encode(crypto::sha256("ck_1")) + "\""),
            std::string::npos)
      << d.outbox[0].payload_json;
}

TEST_F(ChurnkeyRulesTest, ASecondCancellationAsksStripeAgainWithoutAnotherSnapshot) {
  ASSERT_EQ(run(session("ck_1", "cancel")).outbox.size(), 2u);
  const Decision again = run(session("ck_2", "cancel"));
  EXPECT_EQ(again.outcome.note, "already_pending");
  EXPECT_EQ(again.events.size(), 1u);
  ASSERT_EQ(again.outbox.size(), 1u) << "Stripe is asked again, the e-mail is not sent again";
  EXPECT_EQ(again.outbox[0].kind, kStripeCancelAtPeriodEndKind);
  EXPECT_NE(again.outbox[0].payload_json.find(crypto::hex_encode(crypto::sha256("ck_2"))),
            std::string::npos);
}

TEST_F(ChurnkeyRulesTest, OnlyTheAccountsCurrentSubscriptionIsCancelled) {
  ChurnkeySessionEvent old_one = session("ck_old", "cancel");
  old_one.subscription_id = "sub_old";
  const Decision other = run(old_one);
  EXPECT_EQ(other.outcome.note, "other_subscription");
  EXPECT_EQ(other.events.size(), 1u);
  EXPECT_TRUE(other.outbox.empty());
  EXPECT_FALSE(state_.subscription.cancel_at_period_end);
  ChurnkeySessionEvent current = session("ck_current", "cancel");
  current.subscription_id = "sub_1";
  EXPECT_EQ(run(current).outcome.note, "cancel_requested");
  EXPECT_TRUE(state_.subscription.cancel_at_period_end);
}

TEST_F(ChurnkeyRulesTest, PauseDiscountAbortAndTestModeAreRecordedOnly) {
  for (const char* result : {"pause", "discount", "abort", "other"}) {
    const Decision d = run(session(std::string("ck_") + result, result));
    EXPECT_EQ(d.outcome.note, "recorded") << result;
    EXPECT_EQ(d.events.size(), 1u) << result;
    EXPECT_TRUE(d.outbox.empty()) << result;
  }
  ChurnkeySessionEvent test = session("ck_test", "cancel");
  test.test_mode = true;
  const Decision d = run(test);
  EXPECT_EQ(d.outcome.note, "test_mode");
  EXPECT_TRUE(d.outbox.empty());
  EXPECT_FALSE(state_.subscription.cancel_at_period_end);
}

TEST_F(ChurnkeyRulesTest, WithoutALiveSubscriptionNothingIsSentToStripe) {
  AccountState free_account = empty_account("free");
  const Decision d = decide_and_apply(
      free_account, {"free", "churnkey:ck_free", session("ck_free", "cancel"), {}}, 1, plans_);
  ASSERT_TRUE(d.outcome.ok());
  EXPECT_EQ(d.outcome.note, "no_subscription");
  EXPECT_TRUE(d.outbox.empty());
  EXPECT_FALSE(free_account.subscription.cancel_at_period_end);
}

TEST_F(ChurnkeyRulesTest, OversizedOrEmptyFieldsAreRefused) {
  ChurnkeySessionEvent long_feedback = session("ck_long", "cancel");
  long_feedback.feedback = std::string(kChurnkeyFeedbackStoredBytesMax + 1, 'x');
  EXPECT_FALSE(command_is_storable({"acct", "churnkey:ck_long", long_feedback, {}}));
  EXPECT_EQ(run(long_feedback).outcome.rejection, Rejection::kInvalidCommand);
  EXPECT_EQ(run(session("", "cancel")).outcome.rejection, Rejection::kInvalidCommand);
  EXPECT_FALSE(state_.subscription.cancel_at_period_end);
}

TEST_F(ChurnkeyRulesTest, TheRecordRoundTripsThroughItsStoredEncoding) {
  ChurnkeySessionRecorded recorded{"ck_1", "session", "cancel", "sess_1", "PAUSE",
                                   "too_expensive", "caf\xC3\xA9", true, "test_mode"};
  const EventBody event = recorded;
  EXPECT_EQ(event_type_name(event), "ChurnkeySessionRecorded");
  const std::optional<EventBody> decoded =
      decode_event("ChurnkeySessionRecorded", encode_event_payload(event));
  ASSERT_TRUE(decoded.has_value());
  const auto* back = std::get_if<ChurnkeySessionRecorded>(&*decoded);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->feedback, recorded.feedback);
  EXPECT_EQ(back->offer_type, "PAUSE");
  EXPECT_TRUE(back->test_mode);
  EXPECT_EQ(back->action, "test_mode");
  EXPECT_FALSE(decode_event("ChurnkeySessionRecorded", R"({"delivery_id":"x"})").has_value());
}

TEST_F(ChurnkeyRulesTest, TheFingerprintTellsDeliveriesApart) {
  const Command a{"acct", "churnkey:ck_1", session("ck_1", "cancel"), {}};
  const Command b{"acct", "churnkey:ck_1", session("ck_1", "pause"), {}};
  const Command c{"acct", "churnkey:ck_1", session("ck_2", "cancel"), {}};
  EXPECT_NE(command_fingerprint(a), command_fingerprint(b));
  EXPECT_NE(command_fingerprint(a), command_fingerprint(c));
  EXPECT_EQ(command_fingerprint(a), command_fingerprint(a));
}

}  // namespace
