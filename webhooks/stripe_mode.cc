// Stripe mode resolution (webhooks/stripe_mode.h).
#include "webhooks/stripe_mode.h"

#include <optional>

namespace webhooks {
namespace {

// The mode of a secret (sk_) or restricted (rk_) key, nullopt for any other text.
std::optional<StripeMode> key_mode(std::string_view api_key) {
  for (const std::string_view prefix : {"sk_live_", "rk_live_"}) {
    if (api_key.substr(0, prefix.size()) == prefix) return StripeMode::kLive;
  }
  for (const std::string_view prefix : {"sk_test_", "rk_test_"}) {
    if (api_key.substr(0, prefix.size()) == prefix) return StripeMode::kTest;
  }
  return std::nullopt;
}

}  // namespace

std::string_view stripe_mode_name(StripeMode mode) {
  return mode == StripeMode::kLive ? "live" : "test";
}

std::variant<StripeMode, std::string> resolve_stripe_mode(std::string_view setting,
                                                          std::string_view api_key) {
  const std::optional<StripeMode> of_key = key_mode(api_key);
  if (setting == "auto") {
    if (api_key.empty()) return StripeMode::kTest;
    if (!of_key) {
      return std::string(
          "--stripe_livemode=auto cannot tell the mode of STRIPE_API_KEY (not sk_live_, "
          "rk_live_, sk_test_ or rk_test_): set --stripe_livemode=live or test");
    }
    return *of_key;
  }
  if (setting != "live" && setting != "test") {
    return std::string("--stripe_livemode must be auto, live or test");
  }
  const StripeMode mode = setting == "live" ? StripeMode::kLive : StripeMode::kTest;
  if (of_key && *of_key != mode) {
    return "--stripe_livemode=" + std::string(setting) + " contradicts STRIPE_API_KEY, a " +
           std::string(stripe_mode_name(*of_key)) + " key";
  }
  return mode;
}

}  // namespace webhooks
