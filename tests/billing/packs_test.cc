// Top-up packs end to end (README "Credit packs"): the checkout Stripe receives, the grant
// once per payment whatever the duplicates and event types, and the refund of a partly spent
// pack; verify and replay clean after all of it.
#include <gtest/gtest.h>

#include "audit/verify.h"
#include "ledger/time_format.h"
#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"

namespace billing_tests {
namespace {

using http_tests::error_code;
using http_tests::int_field;
using http_tests::parse_json;
using http_tests::string_field;

class PacksTest : public BillingTest {
 protected:
  int64_t available(const std::string& account) const {
    const auto row = balance_row(account);
    return row ? row->credits_available : -1;
  }
  // Grants with source "pack" in the account's stream.
  int64_t pack_grants(const std::string& account) const {
    int64_t count = 0;
    for (const std::string& line : event_lines(account)) {
      if (line.rfind("CreditsGranted ", 0) == 0 &&
          line.find(R"("source":"pack")") != std::string::npos) {
        ++count;
      }
    }
    return count;
  }
  void spend(const std::string& account, int64_t credits) const {
    const std::string credential = token(account);
    const TestResponse reserved = reserve(credential, credits);
    ASSERT_EQ(reserved.status, 201) << reserved.body;
    const std::string id = string_field(parse_json(reserved.body), "reservation_id");
    ASSERT_EQ(capture(credential, id, credits).status, 200);
  }
  void expect_verify_and_replay_clean() const {
    auto pg = database_->connect_pg();
    const audit::VerifyReport before = audit::verify_ledger(*pg);
    EXPECT_TRUE(before.clean) << before.problem << " " << before.stream_id;
    EXPECT_GT(audit::replay_projections(*pg), 0);
    const audit::VerifyReport after = audit::verify_ledger(*pg);
    EXPECT_TRUE(after.clean) << after.problem << " " << after.stream_id;
  }
};

TEST_F(PacksTest, CheckoutOfAPackIsAStripePaymentSession) {
  const TestResponse response =
      post_checkout("packer", R"({"pack_id":"pack_5000","currency":"EUR"})", "pack-key-1");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_FALSE(string_field(parse_json(response.body), "session_id").empty());
  const auto requests = stripe_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/checkout/sessions");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"mode", "payment"},
      {"line_items[0][price]", "price_pack_5000"},
      {"line_items[0][quantity]", "1"},
      {"success_url", kSuccessUrl},
      {"cancel_url", kCancelUrl},
      {"client_reference_id", "packer"},
      {"metadata[account_id]", "packer"},
      {"metadata[pack_id]", "pack_5000"},
      {"payment_intent_data[metadata][account_id]", "packer"},
      {"payment_intent_data[metadata][pack_id]", "pack_5000"}};
  EXPECT_EQ(decode_form(requests[0].body), expected);
  EXPECT_TRUE(requests[0].header("idempotency-key").has_value());

  // Refused before Stripe is called.
  const std::vector<std::pair<std::string, std::string>> refused = {
      {R"({"pack_id":"pack_9","currency":"usd"})", "unknown_pack"},
      {R"({"pack_id":"pack_1000","currency":"eur"})", "unsupported_currency"},
      {R"({"pack_id":"pack_1000"})", "invalid_request"},
      {R"({"pack_id":"pack_1000","currency":"usd","plan_id":"pro"})", "invalid_request"},
      {R"({"pack_id":7,"currency":"usd"})", "invalid_request"}};
  for (const auto& [body, code] : refused) {
    const TestResponse answer = post_checkout("packer", body, std::nullopt);
    EXPECT_EQ(answer.status, 400) << body << " -> " << answer.body;
    EXPECT_EQ(error_code(answer), code) << body;
  }
  EXPECT_EQ(stripe_->requests().size(), 1u);
}

TEST_F(PacksTest, APackIsGrantedOnceAcrossDuplicatesAndBothEventTypes) {
  const int64_t t = now_s();
  const std::string completed = pack_checkout_event("checkout.session.completed", "evt_pack_done",
                                                    t, "buyer", "pack_5000", "buyer1");
  const std::string async =
      pack_checkout_event("checkout.session.async_payment_succeeded", "evt_pack_async", t + 5,
                          "buyer", "pack_5000", "buyer1");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(deliver(completed).status, 200);
    EXPECT_EQ(deliver(async).status, 200);
  }
  EXPECT_EQ(processing_column("evt_pack_done", "note"), "pack_granted");
  EXPECT_EQ(processing_column("evt_pack_async", "note"), "pack_already_granted");
  EXPECT_EQ(pack_grants("buyer"), 1);
  EXPECT_EQ(available("buyer"), 300 + 5'000);
  // The pack's bucket expires after the pack's 365 days.
  const auto credits = parse_json(get_credits("buyer").body);
  bool found = false;
  for (const auto& bucket : credits["buckets"].GetArray()) {
    if (std::string(bucket["source"].GetString()) != "pack") continue;
    found = true;
    EXPECT_EQ(bucket["remaining"].GetInt64(), 5'000);
    const auto expires = ledger::parse_rfc3339(bucket["expires_at"].GetString());
    ASSERT_TRUE(expires.has_value());
    EXPECT_NEAR(static_cast<double>(*expires / 1'000'000), static_cast<double>(t + 365 * kDayS),
                120.0);
  }
  EXPECT_TRUE(found);

  // A delayed payment: nothing at completion (unpaid), the pack when the payment succeeds.
  EXPECT_EQ(deliver_ok(pack_checkout_event("checkout.session.completed", "evt_late_done", t,
                                           "slowpay", "pack_1000", "slow1", "unpaid")),
            "ignored");
  EXPECT_EQ(processing_column("evt_late_done", "note"), "checkout_unpaid");
  EXPECT_EQ(
      deliver_ok(pack_checkout_event("checkout.session.async_payment_succeeded", "evt_late_paid",
                                     t + 60, "slowpay", "pack_1000", "slow1")),
      "processed");
  EXPECT_EQ(pack_grants("slowpay"), 1);
  EXPECT_EQ(available("slowpay"), 1'300);
  expect_verify_and_replay_clean();
}

TEST_F(PacksTest, ARefundTakesBackWhatIsLeftOfAPartlySpentPack) {
  const int64_t t = now_s();
  ASSERT_EQ(deliver_ok(pack_checkout_event("checkout.session.completed", "evt_buy", t, "refundee",
                                           "pack_1000", "ref1")),
            "processed");
  ASSERT_EQ(available("refundee"), 1'300);
  // The free allowance expires first, so it is spent first: 300 of it, then 400 of the pack.
  spend("refundee", 700);
  ASSERT_EQ(available("refundee"), 600);

  // Half the payment refunded: half the pack's credits come back, all still unspent.
  EXPECT_EQ(
      deliver_ok(charge_refunded_event("evt_refund_half", t + 60, "", "ref1", 900, 450, false)),
      "processed");
  EXPECT_EQ(processing_column("evt_refund_half", "note"), "pack_refunded");
  EXPECT_EQ(available("refundee"), 100);
  // The rest refunded: the pack's other 500 are owed, but only 100 are left: 100.
  EXPECT_EQ(deliver_ok(charge_refunded_event("evt_refund_rest", t + 120, "refundee", "ref1", 900,
                                             900, true)),
            "processed");
  EXPECT_EQ(available("refundee"), 0);
  const auto row = balance_row("refundee");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->credits_expired, 600);
  // Delivered again: nothing more.
  EXPECT_EQ(
      deliver(charge_refunded_event("evt_refund_rest", t + 120, "refundee", "ref1", 900, 900, true))
          .status,
      200);
  EXPECT_EQ(available("refundee"), 0);
  // A refunded charge that paid no pack of the account changes nothing.
  EXPECT_EQ(deliver_ok(charge_refunded_event("evt_refund_other", t + 180, "refundee", "other", 900,
                                             900, true)),
            "processed");
  EXPECT_EQ(processing_column("evt_refund_other", "note"), "not_a_pack");
  const auto history = parse_json(
      testing_support::http_get(url("/api/v1/credits/history"), bearer(token("refundee"))).body);
  ASSERT_TRUE(history["entries"].IsArray());
  EXPECT_EQ(std::string(history["entries"][0]["type"].GetString()), "pack_refund");
  EXPECT_EQ(history["entries"][0]["amount"].GetInt64(), -100);
  expect_verify_and_replay_clean();
}

// A refund that arrives before the pack's grant (the checkout delivery held up) waits,
// parked, so that the grant cannot follow it and keep the credits.
TEST_F(PacksTest, ARefundBeforeItsPacksGrantWaitsForIt) {
  const int64_t t = now_s();
  EXPECT_EQ(deliver_ok(charge_refunded_event("evt_early_refund", t, "early", "early1", 900, 900,
                                             true, "pack_1000")),
            "parked");
  EXPECT_EQ(deliver_ok(pack_checkout_event("checkout.session.completed", "evt_early_buy", t - 60,
                                           "early", "pack_1000", "early1")),
            "processed");
  ASSERT_TRUE(wait_for_status("evt_early_refund", "processed", 30'000))
      << processing_status("evt_early_refund");
  EXPECT_EQ(processing_column("evt_early_refund", "note"), "pack_refunded");
  EXPECT_EQ(available("early"), 300);
  expect_verify_and_replay_clean();
}

}  // namespace
}  // namespace billing_tests
