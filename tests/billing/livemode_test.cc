// Stripe livemode over HTTP with signed deliveries: ledgerd bills in one mode (from
// STRIPE_API_KEY's prefix, or --stripe_livemode); an event of the other mode is stored
// (so Stripe stops resending it), answered 200 ignored/livemode_mismatch, and applies
// nothing; a contradicting configuration stops ledgerd at start.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"

namespace billing_tests {
namespace {

constexpr const char* kMismatchReply =
    R"({"received":true,"duplicate":false,"status":"ignored","note":"livemode_mismatch"})";

// The same event as sent in live mode (the event's and its object's `livemode`).
std::string as_live(std::string body) {
  const std::string test_mode = R"("livemode": false)";
  std::size_t at = 0;
  int replaced = 0;
  while ((at = body.find(test_mode, at)) != std::string::npos) {
    body.replace(at, test_mode.size(), R"("livemode": true)");
    ++replaced;
  }
  EXPECT_GE(replaced, 1);
  return body;
}

class LivemodeTest : public BillingTest {
 protected:
  // The fixture's flags with STRIPE_API_KEY replaced by `api_key` and `extra` appended.
  std::vector<std::string> flags_with_key(const std::string& api_key,
                                          const std::vector<std::string>& extra) const {
    std::vector<std::string> flags = ledgerd_flags();
    for (std::string& flag : flags) {
      if (flag.rfind("--stripe_api_key=", 0) == 0) flag = "--stripe_api_key=" + api_key;
    }
    flags.insert(flags.end(), extra.begin(), extra.end());
    return flags;
  }

  const int64_t period0_s_ = now_s() - 2 * kDayS;
};

TEST_F(LivemodeTest, ATestKeyIgnoresLiveEvents) {
  // The fixture's key is sk_test_: test mode.
  const Subscriber live_buyer = subscriber("live-into-test");
  const std::string live_checkout =
      as_live(checkout_completed("evt_live_1", period0_s_, live_buyer, "pro"));
  const TestResponse first = deliver(live_checkout);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, kMismatchReply);
  EXPECT_EQ(processing_status("evt_live_1"), "ignored");
  EXPECT_EQ(processing_column("evt_live_1", "note"), "livemode_mismatch");
  EXPECT_EQ(event_count(live_buyer.account), 0) << "nothing applied";
  EXPECT_FALSE(balance_row(live_buyer.account).has_value());
  EXPECT_EQ(deliver(live_checkout).body, R"({"received":true,"duplicate":true})")
      << "stored: a resend changes nothing";
  EXPECT_EQ(deliveries_stored(), 1);

  const Subscriber test_buyer = subscriber("test-into-test");
  EXPECT_EQ(deliver_ok(checkout_completed("evt_test_1", period0_s_, test_buyer, "pro")),
            "processed");
  EXPECT_EQ(balance_row(test_buyer.account)->plan_id, "pro");
  // The retry loop leaves the ignored delivery alone.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(processing_status("evt_live_1"), "ignored");
  EXPECT_EQ(event_count(live_buyer.account), 0);
}

TEST_F(LivemodeTest, ALiveKeyIgnoresTestEvents) {
  restart_ledgerd(flags_with_key("sk_live_51LedgerLivemodeTests", {}));
  const Subscriber test_buyer = subscriber("test-into-live");
  const TestResponse ignored =
      deliver(checkout_completed("evt_test_2", period0_s_, test_buyer, "pro"));
  EXPECT_EQ(ignored.status, 200);
  EXPECT_EQ(ignored.body, kMismatchReply);
  EXPECT_EQ(event_count(test_buyer.account), 0);

  const Subscriber live_buyer = subscriber("live-into-live");
  EXPECT_EQ(deliver_ok(as_live(checkout_completed("evt_live_2", period0_s_, live_buyer, "pro"))),
            "processed");
  EXPECT_EQ(balance_row(live_buyer.account)->plan_id, "pro");
  EXPECT_EQ(balance_row(live_buyer.account)->credits_available, 10'000);
}

TEST_F(LivemodeTest, AnExplicitFlagDecidesWithoutAKeyAndContradictionsStopStart) {
  restart_ledgerd(flags_with_key("", {"--stripe_livemode=live"}));
  const Subscriber live_buyer = subscriber("explicit-live");
  EXPECT_EQ(deliver_ok(as_live(checkout_completed("evt_live_3", period0_s_, live_buyer, "pro"))),
            "processed");
  EXPECT_EQ(deliver(checkout_completed("evt_test_3", period0_s_, subscriber("t3"), "pro")).body,
            kMismatchReply);

  // The environment variable works like the flag.
  testing_support::LedgerdOptions options;
  options.database_url = database_->url();
  options.jwt_secret = secret_;
  options.extra_flags = flags_with_key(kStripeApiKey, {});
  options.env = {{"LEDGER_STRIPE_LIVEMODE", "live"}};
  const std::string message = testing_support::start_failure(options);
  EXPECT_NE(message.find("exited with 2"), std::string::npos) << message;
  EXPECT_NE(message.find("--stripe_livemode=live contradicts STRIPE_API_KEY, a test key"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace billing_tests
