// Tests for the built-in local stand-ins: the rule-based rewriter and the heuristic AI
// score. Both must be deterministic and keep UTF-8 intact.
#include <gtest/gtest.h>

#include <string>

#include "content/ai_heuristic.h"
#include "content/local_rewriter.h"
#include "content/text.h"
#include "unicode/utf8.h"

namespace {

using content::heuristic_ai_score;
using content::rewrite_locally;

const char* const kAiText =
    "In conclusion, it is important to note that organizations must utilize robust "
    "frameworks. Furthermore, teams should leverage comprehensive tools to enhance "
    "outcomes. Moreover, leaders must foster a culture that is crucial for growth. "
    "Additionally, the realm of technology is a pivotal landscape to navigate. Overall, "
    "this approach will ensure a seamless journey for all stakeholders involved.";

const char* const kHumanText =
    "I missed the bus again. Typical! So I walked, grumbling the whole way, past the "
    "bakery that's always out of croissants by eight and the dog who barks at nothing. "
    "Didn't matter. By the time I got to work my coffee was cold, my shoes were soaked, "
    "and honestly? I'd stopped caring. Rain does that. It's weirdly freeing.";

TEST(LocalRewriter, ReplacesStockPhrases) {
  EXPECT_EQ(rewrite_locally("We utilize tools.", "standard"), "We use tools.");
  EXPECT_EQ(rewrite_locally("In conclusion, we won.", "standard"), "All in all, we won.");
  EXPECT_EQ(rewrite_locally("It works. Furthermore, it is fast.", "standard"),
            "It works. Also, it's fast.");
  EXPECT_EQ(rewrite_locally("We must, in conclusion, act.", "standard"),
            "We must, all in all, act.");
  EXPECT_EQ(rewrite_locally("However, it failed.", "standard"), "Still, it failed.");
}

TEST(LocalRewriter, PreservesCaseOfFirstLetterAndWordBoundaries) {
  EXPECT_EQ(rewrite_locally("Utilize it.", "standard"), "Use it.");
  EXPECT_EQ(rewrite_locally("underutilize stays", "standard"), "underutilize stays");
  EXPECT_EQ(rewrite_locally("utilizes utilized", "standard"), "uses used");
}

TEST(LocalRewriter, ContractionsDependOnMode) {
  EXPECT_EQ(rewrite_locally("We do not know.", "standard"), "We don't know.");
  EXPECT_EQ(rewrite_locally("I know what it is.", "standard"), "I know what it is.");
  EXPECT_EQ(rewrite_locally("We don't know.", "formal"), "We do not know.");
  EXPECT_EQ(rewrite_locally("We do not know.", "academic"), "We do not know.");
  EXPECT_EQ(rewrite_locally("It's late.", "formal"), "It's late.");  // Ambiguous: kept.
}

TEST(LocalRewriter, IsDeterministicAndKeepsUnicode) {
  const std::string text = std::string(kAiText) + " Zoë говорит 中文 😀.";
  const std::string first = rewrite_locally(text, "standard");
  EXPECT_EQ(first, rewrite_locally(text, "standard"));
  EXPECT_NE(first, text);
  EXPECT_TRUE(unicode::is_valid_utf8(first));
  EXPECT_NE(first.find("Zoë говорит 中文 😀."), std::string::npos);
  EXPECT_EQ(first.find("utilize"), std::string::npos);
}

TEST(LocalRewriter, LeavesPlainTextAlone) {
  const std::string plain = "The cat sat on the mat and looked at the rain.";
  EXPECT_EQ(rewrite_locally(plain, "standard"), plain);
  EXPECT_EQ(rewrite_locally("", "standard"), "");
}

TEST(HeuristicAiScore, StaysInRangeAndIsDeterministic) {
  for (const char* text : {kAiText, kHumanText, "", "one", "word word word word word."}) {
    const double score = heuristic_ai_score(text);
    EXPECT_GE(score, 0.0);
    EXPECT_LE(score, 100.0);
    EXPECT_EQ(score, heuristic_ai_score(text));
  }
  EXPECT_EQ(heuristic_ai_score(""), 0.0);
}

TEST(HeuristicAiScore, RanksStockAiProseAboveCasualHumanProse) {
  const double ai = heuristic_ai_score(kAiText);
  const double human = heuristic_ai_score(kHumanText);
  EXPECT_GT(ai, human + 20.0) << "ai=" << ai << " human=" << human;
  EXPECT_GT(ai, 50.0);
  EXPECT_LT(human, 50.0);
}

TEST(HeuristicAiScore, RewritingLowersTheScore) {
  EXPECT_LT(heuristic_ai_score(rewrite_locally(kAiText, "standard")), heuristic_ai_score(kAiText));
}

TEST(HeuristicAiScore, FeaturesAreBetweenZeroAndOne) {
  const content::AiHeuristicFeatures features = content::compute_ai_heuristic_features(kAiText);
  for (const double value : {features.sentence_uniformity, features.lexical_repetition,
                             features.stock_phrase_rate, features.contraction_absence}) {
    EXPECT_GE(value, 0.0);
    EXPECT_LE(value, 1.0);
  }
  EXPECT_GT(features.stock_phrase_rate, 0.9);
  EXPECT_EQ(features.contraction_absence, 1.0);
}

}  // namespace
