// Which Stripe mode (test or live) ledgerd bills in. Every Stripe event carries `livemode`;
// an event of the other mode is stored and ignored (note livemode_mismatch), never applied,
// so test-mode traffic cannot grant credits on a live deployment, nor live payments vanish
// into a test one. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace webhooks {

enum class StripeMode { kTest, kLive };

inline constexpr std::string_view kLivemodeMismatchNote = "livemode_mismatch";

// "test" or "live".
std::string_view stripe_mode_name(StripeMode mode);

// The mode from the --stripe_livemode setting and STRIPE_API_KEY:
// - "live" / "test": that mode; a key of the other mode is an error (checkout would create
//   sessions in one mode while webhooks apply the other).
// - "auto": the key's mode (sk_live_/rk_live_: live, sk_test_/rk_test_: test); without a key,
//   test, so live events are refused until a live key or "live" is configured. A key with
//   another prefix is an error (say "live" or "test").
// Returns the mode, or an error message naming the setting.
std::variant<StripeMode, std::string> resolve_stripe_mode(std::string_view setting,
                                                          std::string_view api_key);

}  // namespace webhooks
