// Tests for content/pricing.h (seed pricing table) and content/request_rules.h.
#include "content/pricing.h"

#include <gtest/gtest.h>

#include <vector>

#include "content/request_rules.h"
#include "content/text.h"

namespace {

using content::price_chunk;
using content::price_text;
using content::PricingRule;

constexpr PricingRule kRule{100, 10};  // 10 credits per 100 words.

TEST(PriceChunk, BaseRateUpToBaseWords) {
  EXPECT_EQ(price_chunk(0, kRule), 0);
  EXPECT_EQ(price_chunk(1, kRule), 10);
  EXPECT_EQ(price_chunk(50, kRule), 10);
  EXPECT_EQ(price_chunk(100, kRule), 10);
}

TEST(PriceChunk, ProportionalAboveBaseWordsRoundedUp) {
  EXPECT_EQ(price_chunk(101, kRule), 11);  // ceil(10.1)
  EXPECT_EQ(price_chunk(110, kRule), 11);
  EXPECT_EQ(price_chunk(111, kRule), 12);  // ceil(11.1)
  EXPECT_EQ(price_chunk(350, kRule), 35);
  EXPECT_EQ(price_chunk(500, kRule), 50);
  EXPECT_EQ(price_chunk(10'000, kRule), 1'000);
}

TEST(PriceChunk, NoOverflowAtTheLimits) {
  const PricingRule expensive{1, content::kPricingBaseCreditsMax};
  EXPECT_EQ(price_chunk(10'000, expensive), 10'000 * content::kPricingBaseCreditsMax);
  EXPECT_EQ(price_chunk(content::kPricedWordsMax, expensive),
            content::kPricedWordsMax * content::kPricingBaseCreditsMax);
  const PricingRule odd{3, 7};
  EXPECT_EQ(price_chunk(10'000, odd), (10'000 * 7 + 2) / 3);
  EXPECT_EQ(price_chunk(10, PricingRule{10'000, 0}), 0);
}

TEST(PriceText, BillsEachChunkSeparately) {
  const std::vector<int64_t> chunks = {500, 500, 34};
  EXPECT_EQ(price_text(chunks, kRule), 50 + 50 + 10);  // 34 words: base rate.
  EXPECT_EQ(price_text(std::vector<int64_t>{}, kRule), 0);
}

TEST(PriceText, MatchesChunkingOfALongText) {
  std::string text;
  for (int i = 0; i < 1'234; ++i) text += "word ";
  const auto chunks = content::split_into_chunks(text, content::kChunkWordsDefault);
  std::vector<int64_t> counts;
  for (const auto& chunk : chunks) counts.push_back(chunk.word_count);
  EXPECT_EQ(counts, (std::vector<int64_t>{500, 500, 234}));
  EXPECT_EQ(price_text(counts, kRule), 50 + 50 + 24);
}

TEST(PricingRule, Validation) {
  EXPECT_TRUE(content::is_valid_pricing_rule(kRule));
  EXPECT_FALSE(content::is_valid_pricing_rule({0, 10}));
  EXPECT_FALSE(content::is_valid_pricing_rule({100, -1}));
  EXPECT_FALSE(content::is_valid_pricing_rule({content::kPricingBaseWordsMax + 1, 1}));
  EXPECT_FALSE(content::is_valid_pricing_rule({1, content::kPricingBaseCreditsMax + 1}));
}

TEST(RequestRules, WordLimits) {
  EXPECT_EQ(content::check_word_count(9), content::WordCountCheck::kTooShort);
  EXPECT_EQ(content::check_word_count(10), content::WordCountCheck::kOk);
  EXPECT_EQ(content::check_word_count(10'000), content::WordCountCheck::kOk);
  EXPECT_EQ(content::check_word_count(10'001), content::WordCountCheck::kTooLong);
}

TEST(RequestRules, AllowedOptionValues) {
  EXPECT_TRUE(content::is_allowed_mode("standard"));
  EXPECT_TRUE(content::is_allowed_mode("academic"));
  EXPECT_FALSE(content::is_allowed_mode("Standard"));
  EXPECT_FALSE(content::is_allowed_mode(""));
  EXPECT_TRUE(content::is_allowed_readability("high_school"));
  EXPECT_FALSE(content::is_allowed_readability("kindergarten"));
  EXPECT_TRUE(content::is_allowed_purpose("essay"));
  EXPECT_TRUE(content::is_allowed_purpose("cover_letter"));
  EXPECT_FALSE(content::is_allowed_purpose("poem"));
  const content::HumanizeOptions defaults;
  EXPECT_TRUE(content::is_allowed_mode(defaults.mode));
  EXPECT_TRUE(content::is_allowed_readability(defaults.readability));
  EXPECT_TRUE(content::is_allowed_purpose(defaults.purpose));
}

}  // namespace
