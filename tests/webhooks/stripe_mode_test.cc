// Which Stripe mode ledgerd bills in (webhooks/stripe_mode.h): from the key's prefix under
// "auto", test without a key, and an explicit mode that contradicts the key refused.
#include "webhooks/stripe_mode.h"

#include <gtest/gtest.h>

namespace {

using webhooks::StripeMode;

StripeMode mode_of(const std::string& setting, const std::string& key) {
  const auto mode = webhooks::resolve_stripe_mode(setting, key);
  EXPECT_TRUE(std::holds_alternative<StripeMode>(mode))
      << setting << " " << key << ": " << std::get<std::string>(mode);
  return std::holds_alternative<StripeMode>(mode) ? std::get<StripeMode>(mode) : StripeMode::kTest;
}

std::string error_of(const std::string& setting, const std::string& key) {
  const auto mode = webhooks::resolve_stripe_mode(setting, key);
  EXPECT_TRUE(std::holds_alternative<std::string>(mode)) << setting << " " << key;
  return std::holds_alternative<std::string>(mode) ? std::get<std::string>(mode) : "";
}

TEST(StripeModeTest, AutoFollowsTheKeyAndDefaultsToTest) {
  EXPECT_EQ(mode_of("auto", "sk_live_51Abc"), StripeMode::kLive);
  EXPECT_EQ(mode_of("auto", "rk_live_51Abc"), StripeMode::kLive);
  EXPECT_EQ(mode_of("auto", "sk_test_51Abc"), StripeMode::kTest);
  EXPECT_EQ(mode_of("auto", "rk_test_51Abc"), StripeMode::kTest);
  EXPECT_EQ(mode_of("auto", ""), StripeMode::kTest) << "no key: live events are refused";
  EXPECT_NE(error_of("auto", "pk_live_51Abc").find("cannot tell the mode"), std::string::npos);
  EXPECT_NE(error_of("auto", "sk_51Abc").find("set --stripe_livemode=live or test"),
            std::string::npos);
}

TEST(StripeModeTest, AnExplicitModeWinsUnlessTheKeyContradictsIt) {
  EXPECT_EQ(mode_of("live", ""), StripeMode::kLive);
  EXPECT_EQ(mode_of("test", ""), StripeMode::kTest);
  EXPECT_EQ(mode_of("live", "sk_live_x"), StripeMode::kLive);
  EXPECT_EQ(mode_of("live", "custom-proxy-key"), StripeMode::kLive);
  EXPECT_EQ(error_of("live", "sk_test_x"),
            "--stripe_livemode=live contradicts STRIPE_API_KEY, a test key");
  EXPECT_EQ(error_of("test", "rk_live_x"),
            "--stripe_livemode=test contradicts STRIPE_API_KEY, a live key");
  EXPECT_EQ(error_of("Live", ""), "--stripe_livemode must be auto, live or test");
  EXPECT_EQ(error_of("", ""), "--stripe_livemode must be auto, live or test");
}

}  // namespace
