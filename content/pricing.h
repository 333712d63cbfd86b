// Credit pricing of text by word count (seed table: a base rate up to base_words, then
// proportional; long texts are chunked and each chunk is billed separately). Integer
// arithmetic only: credits never touch floating point.
#pragma once

#include <cstdint>
#include <span>

namespace content {

// Limits that keep every product below in int64 range (1e4 * 1e6 * 1e4 << 9.2e18).
inline constexpr int64_t kPricingBaseWordsMax = 10'000;
inline constexpr int64_t kPricingBaseCreditsMax = 1'000'000;
inline constexpr int64_t kPricedWordsMax = 1'000'000;

struct PricingRule {
  int64_t base_words;    // 1..kPricingBaseWordsMax: words covered by the base rate.
  int64_t base_credits;  // 0..kPricingBaseCreditsMax: credits for 1..base_words words.
};

// True when the rule is within the limits above; plans must be validated with this
// before any price_* call (a bad rule is a configuration error, not a request error).
bool is_valid_pricing_rule(PricingRule rule);

// Credits for one chunk of `words` words (0..kPricedWordsMax):
//   0 words -> 0; 1..base_words -> base_credits;
//   more -> ceil(words * base_credits / base_words) (proportional, rounded up).
// Precondition: is_valid_pricing_rule(rule).
int64_t price_chunk(int64_t words, PricingRule rule);

// Sum of price_chunk over the chunks' word counts (each chunk billed separately).
// Precondition: every count in 0..kPricedWordsMax, at most kPricedWordsMax chunks.
int64_t price_text(std::span<const int64_t> chunk_word_counts, PricingRule rule);

}  // namespace content
