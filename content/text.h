// Text preprocessing for humanize/detect: sanitising, word counting (the unit credits are
// charged in) and chunking on sentence boundaries. Pure: no I/O, no global state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace content {

// The default and largest chunk sizes, in words, sent to the humanizer in one request.
inline constexpr int64_t kChunkWordsDefault = 500;
inline constexpr int64_t kChunkWordsMax = 10'000;

// Returns a cleaned copy of `text`:
//  - each invalid UTF-8 byte becomes U+FFFD (callers that must reject invalid input check
//    is_valid_utf8 first; this function never fails);
//  - CR LF, CR, VT, FF, NEL, U+2028 and U+2029 become LF; every other control character
//    (C0 except TAB/LF, DEL, C1) is removed;
//  - a run of horizontal whitespace (space, tab, Unicode space separators) becomes one
//    space, or one tab when the run is only tabs;
//  - whitespace around line breaks is dropped and three or more line breaks become two
//    (one paragraph break);
//  - leading and trailing whitespace is removed.
// All other code points (any script, emoji, zero-width characters) are kept unchanged.
std::string sanitize_text(std::string_view text);

// Number of words: maximal runs of non-whitespace code points (see is_unicode_whitespace).
// Text without spaces between words (e.g. Chinese) counts as one word per run.
int64_t count_words(std::string_view text);

// One word: the byte range [begin, end) of a maximal non-whitespace run.
struct WordSpan {
  std::size_t begin;
  std::size_t end;
};

// The words of `text` in order; words.size() == count_words(text).
std::vector<WordSpan> find_words(std::string_view text);

// True when `word` ends a sentence: its last character, after closing quotes and
// brackets, is . ! ? or an ellipsis (also the CJK full stop and marks), and it is not a
// common abbreviation such as "Dr." or "e.g.".
bool ends_sentence(std::string_view word);

struct TextChunk {
  std::string text;             // Original bytes from the chunk's first to last word.
  int64_t word_count;           // 1..max_words.
  std::string separator_after;  // "\n\n", "\n" or " " as in the source; "" for the last.
};

// Splits `text` into chunks of at most `max_words` words (1..kChunkWordsMax), cutting
// between sentences. Sentences are packed greedily; a sentence longer than max_words is
// cut at word boundaries. Joining the chunks (join_chunks) reproduces every word in order.
// Empty or all-whitespace text yields no chunks.
std::vector<TextChunk> split_into_chunks(std::string_view text,
                                         int64_t max_words = kChunkWordsDefault);

// Concatenates `texts[i] + chunks[i].separator_after`: the way to reassemble per-chunk
// results (e.g. humanized chunks) keeping the source's paragraph breaks.
// Precondition: texts.size() == chunks.size().
std::string join_chunks(std::span<const std::string> texts, std::span<const TextChunk> chunks);

}  // namespace content
