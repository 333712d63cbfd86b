// Per-chunk credit pricing.
#include "content/pricing.h"

#include <cassert>

namespace content {

bool is_valid_pricing_rule(PricingRule rule) {
  return rule.base_words >= 1 && rule.base_words <= kPricingBaseWordsMax &&
         rule.base_credits >= 0 && rule.base_credits <= kPricingBaseCreditsMax;
}

int64_t price_chunk(int64_t words, PricingRule rule) {
  assert(is_valid_pricing_rule(rule));
  assert(words >= 0 && words <= kPricedWordsMax);
  if (words == 0) return 0;
  if (words <= rule.base_words) return rule.base_credits;
  // words * base_credits <= 1e6 * 1e6: no overflow.
  const int64_t numerator = words * rule.base_credits;
  const int64_t credits = (numerator + rule.base_words - 1) / rule.base_words;
  assert(credits >= rule.base_credits);
  return credits;
}

int64_t price_text(std::span<const int64_t> chunk_word_counts, PricingRule rule) {
  assert(static_cast<int64_t>(chunk_word_counts.size()) <= kPricedWordsMax);
  int64_t total = 0;
  for (const int64_t words : chunk_word_counts) total += price_chunk(words, rule);
  assert(total >= 0);
  return total;
}

}  // namespace content
