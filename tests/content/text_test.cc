// Tests for unicode/utf8.h and content/text.h: UTF-8 validation, sanitising, word
// counting (Unicode) and sentence-boundary chunking.
#include "content/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unicode/utf8.h"

namespace {

using content::count_words;
using content::sanitize_text;
using content::split_into_chunks;

// `count` words "w0 w1 ..." forming one sentence ending with a full stop.
std::string sentence_of(int count, const std::string& prefix = "w") {
  std::string text;
  for (int i = 0; i < count; ++i) {
    if (i > 0) text += ' ';
    text += prefix + std::to_string(i);
  }
  return text + ".";
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  for (const content::WordSpan& span : content::find_words(text)) {
    words.emplace_back(text.substr(span.begin, span.end - span.begin));
  }
  return words;
}

std::string join(const std::vector<content::TextChunk>& chunks) {
  std::vector<std::string> texts;
  for (const auto& chunk : chunks) texts.push_back(chunk.text);
  return content::join_chunks(texts, chunks);
}

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(unicode::is_valid_utf8(""));
  EXPECT_TRUE(unicode::is_valid_utf8("plain ascii"));
  EXPECT_TRUE(unicode::is_valid_utf8("caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80"));
}

TEST(Utf8, RejectsMalformedSequences) {
  EXPECT_FALSE(unicode::is_valid_utf8("\xC3"));              // Truncated.
  EXPECT_FALSE(unicode::is_valid_utf8("\xC0\xAF"));          // Overlong '/'.
  EXPECT_FALSE(unicode::is_valid_utf8("\xE0\x80\xAF"));      // Overlong, 3 bytes.
  EXPECT_FALSE(unicode::is_valid_utf8("\xED\xA0\x80"));      // UTF-16 surrogate.
  EXPECT_FALSE(unicode::is_valid_utf8("\xF4\x90\x80\x80"));  // Above U+10FFFF.
  EXPECT_FALSE(unicode::is_valid_utf8("\xFF"));
  EXPECT_FALSE(unicode::is_valid_utf8("ok \x80 lone continuation"));
}

TEST(Utf8, CountsCodePoints) {
  EXPECT_EQ(unicode::count_code_points("abc"), 3);
  EXPECT_EQ(unicode::count_code_points("\xC3\xA9\xF0\x9F\x98\x80"), 2);
  EXPECT_EQ(unicode::count_code_points("a\xFF"), 2);  // An invalid byte counts as one.
}

TEST(Utf8, StorableTextIsValidUtf8WithoutNul) {
  EXPECT_TRUE(unicode::is_storable_text("caf\xC3\xA9"));
  EXPECT_FALSE(unicode::is_storable_text(std::string("a\0b", 3)));
  EXPECT_FALSE(unicode::is_storable_text("\xED\xB0\x80"));  // "\udc00" as RapidJSON unescapes it
}

TEST(Utf8, TruncationNeverSplitsACharacter) {
  EXPECT_EQ(unicode::truncate_utf8("abc", 5), "abc");
  EXPECT_EQ(unicode::truncate_utf8("ab\xC3\xA9", 3), "ab");          // 2-byte character cut
  EXPECT_EQ(unicode::truncate_utf8("a\xF0\x9F\x98\x80" "b", 4), "a");  // 4-byte character cut
  EXPECT_EQ(unicode::truncate_utf8("a\xF0\x9F\x98\x80" "b", 5), "a\xF0\x9F\x98\x80");
}

TEST(Utf8, ScrubReplacesInvalidBytesAndDropsNul) {
  EXPECT_EQ(unicode::scrub_utf8(std::string("a\xFF\0b", 4)), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(unicode::scrub_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_TRUE(unicode::is_storable_text(unicode::scrub_utf8("\xED\xA0\x80\xC0\xAF")));
}

TEST(CountWords, SeparatesOnAnyUnicodeWhitespace) {
  EXPECT_EQ(count_words(""), 0);
  EXPECT_EQ(count_words("   \n\t "), 0);
  EXPECT_EQ(count_words("one"), 1);
  EXPECT_EQ(count_words("  one  two\tthree\nfour  "), 4);
  EXPECT_EQ(count_words("no\xC2\xA0"
                        "break"),
            2);                                          // U+00A0 NBSP.
  EXPECT_EQ(count_words("em\xE2\x80\x83space"), 2);      // U+2003 EM SPACE.
  EXPECT_EQ(count_words("ideo\xE3\x80\x80graphic"), 2);  // U+3000.
  EXPECT_EQ(count_words("zero\xE2\x80\x8Bwidth"), 1);    // U+200B is not whitespace.
}

TEST(CountWords, CountsNonLatinScriptsAndEmoji) {
  EXPECT_EQ(count_words("Привет мир"), 2);
  EXPECT_EQ(count_words("καλημέρα κόσμε σήμερα"), 3);
  EXPECT_EQ(count_words("مرحبا بالعالم"), 2);
  EXPECT_EQ(count_words("😀 🎉 ok"), 3);
  EXPECT_EQ(count_words("中文没有空格"), 1);  // Documented: a run without spaces is one word.
}

TEST(SanitizeText, RemovesControlCharactersButKeepsNewlinesAndTabs) {
  EXPECT_EQ(sanitize_text(std::string("a\x01"
                                      "b\x7F"
                                      "c\x1B",
                                      6)),
            "abc");
  EXPECT_EQ(sanitize_text(std::string("a\0b", 3)), "ab");
  EXPECT_EQ(sanitize_text("a\xC2\x80"
                          "b"),
            "ab");  // C1 control U+0080.
  EXPECT_EQ(sanitize_text("col1\tcol2"), "col1\tcol2");
  EXPECT_EQ(sanitize_text("line1\nline2"), "line1\nline2");
}

TEST(SanitizeText, NormalisesWhitespaceRuns) {
  EXPECT_EQ(sanitize_text("  hello    world  "), "hello world");
  EXPECT_EQ(sanitize_text("a \t b"), "a b");
  EXPECT_EQ(sanitize_text("a\t\tb"), "a\tb");
  EXPECT_EQ(sanitize_text("a\xC2\xA0\xC2\xA0"
                          "b"),
            "a b");
  EXPECT_EQ(sanitize_text("a\r\nb\rc"), "a\nb\nc");
  EXPECT_EQ(sanitize_text("p1  \n\n\n\n  p2"), "p1\n\np2");
  EXPECT_EQ(sanitize_text("a \n b"), "a\nb");
  EXPECT_EQ(sanitize_text("\n\n  \t"), "");
}

TEST(SanitizeText, KeepsAllUnicodeAndReplacesInvalidBytes) {
  const std::string unicode = "Zoë wrote 中文, Ελληνικά and 😀\xE2\x80\x8B!";
  EXPECT_EQ(sanitize_text(unicode), unicode);
  const std::string cleaned = sanitize_text("bad \xFF byte");
  EXPECT_EQ(cleaned, "bad \xEF\xBF\xBD byte");  // U+FFFD.
  EXPECT_TRUE(unicode::is_valid_utf8(cleaned));
}

TEST(SanitizeText, PreservesWordCountOfOrdinaryText) {
  const std::string text = "One two.  Three\tfour!\n\nFive six?";
  EXPECT_EQ(count_words(sanitize_text(text)), count_words(text));
}

TEST(EndsSentence, RecognisesMarksQuotesAndAbbreviations) {
  EXPECT_TRUE(content::ends_sentence("end."));
  EXPECT_TRUE(content::ends_sentence("really?"));
  EXPECT_TRUE(content::ends_sentence("wow!"));
  EXPECT_TRUE(content::ends_sentence("said.\""));
  EXPECT_TRUE(content::ends_sentence("(aside.)"));
  EXPECT_TRUE(content::ends_sentence("quoted.\xE2\x80\x9D"));
  EXPECT_TRUE(content::ends_sentence("\xE5\xA5\xBD\xE3\x80\x82"));  // 好。
  EXPECT_FALSE(content::ends_sentence("middle,"));
  EXPECT_FALSE(content::ends_sentence("Dr."));
  EXPECT_FALSE(content::ends_sentence("e.g."));
  EXPECT_FALSE(content::ends_sentence("3.5"));
}

TEST(SplitIntoChunks, ShortTextIsOneChunk) {
  const auto chunks = split_into_chunks("Just a short text. Two sentences here.");
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "Just a short text. Two sentences here.");
  EXPECT_EQ(chunks[0].word_count, 7);
  EXPECT_EQ(chunks[0].separator_after, "");
  EXPECT_TRUE(split_into_chunks("").empty());
  EXPECT_TRUE(split_into_chunks(" \n ").empty());
}

TEST(SplitIntoChunks, PacksSentencesUpTo500Words) {
  // Four sentences of 200 words: 200+200 fit in 500, the third does not.
  std::string text;
  for (int i = 0; i < 4; ++i)
    text += (i ? " " : "") + sentence_of(200, "s" + std::to_string(i) + "w");
  const auto chunks = split_into_chunks(text, 500);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].word_count, 400);
  EXPECT_EQ(chunks[1].word_count, 400);
  EXPECT_TRUE(content::ends_sentence(words_of(chunks[0].text).back()));
  EXPECT_EQ(words_of(join(chunks)), words_of(text));
}

TEST(SplitIntoChunks, ExactlyMaxWordsStaysOneChunk) {
  const std::string text = sentence_of(500);
  const auto chunks = split_into_chunks(text, 500);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].word_count, 500);
}

TEST(SplitIntoChunks, SplitsAnOverlongSentenceAtWordBoundaries) {
  const std::string text = sentence_of(1234);
  const auto chunks = split_into_chunks(text, 500);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].word_count, 500);
  EXPECT_EQ(chunks[1].word_count, 500);
  EXPECT_EQ(chunks[2].word_count, 234);
  EXPECT_EQ(words_of(join(chunks)), words_of(text));
}

TEST(SplitIntoChunks, NoChunkExceedsMaxAndNoWordIsLost) {
  // Sentences of varied lengths, including over-long ones, with paragraph breaks.
  std::string text;
  const int lengths[] = {3, 120, 499, 501, 7, 1000, 42, 250, 251, 1};
  for (int i = 0; i < 10; ++i) {
    text += sentence_of(lengths[i], "p" + std::to_string(i) + "w");
    text += (i % 3 == 2) ? "\n\n" : " ";
  }
  for (const int64_t max_words : {1, 7, 100, 500}) {
    const auto chunks = split_into_chunks(text, max_words);
    int64_t total = 0;
    for (const auto& chunk : chunks) {
      EXPECT_GE(chunk.word_count, 1);
      EXPECT_LE(chunk.word_count, max_words);
      EXPECT_EQ(chunk.word_count, count_words(chunk.text));
      total += chunk.word_count;
    }
    EXPECT_EQ(total, count_words(text));
    EXPECT_EQ(words_of(join(chunks)), words_of(text)) << "max_words=" << max_words;
  }
}

TEST(SplitIntoChunks, KeepsParagraphBreaksAsSeparators) {
  const std::string text =
      sentence_of(300, "a") + "\n\n" + sentence_of(300, "b") + "\n" + sentence_of(300, "c");
  const auto chunks = split_into_chunks(text, 500);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].separator_after, "\n\n");
  EXPECT_EQ(chunks[1].separator_after, "\n");
  EXPECT_EQ(chunks[2].separator_after, "");
  EXPECT_EQ(join(chunks), text);
}

TEST(SplitIntoChunks, HandlesUnicodeWords) {
  std::string text;
  for (int i = 0; i < 600; ++i) text += "слово ";
  text += "конец.";
  const auto chunks = split_into_chunks(text, 500);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].word_count + chunks[1].word_count, 601);
  EXPECT_TRUE(unicode::is_valid_utf8(chunks[0].text));
  EXPECT_TRUE(unicode::is_valid_utf8(chunks[1].text));
}

}  // namespace
