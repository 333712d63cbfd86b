// Sanitising, word counting and sentence-boundary chunking.
#include "content/text.h"

#include <algorithm>
#include <array>
#include <cassert>

#include "unicode/utf8.h"

namespace content {
namespace {

using unicode::append_utf8;
using unicode::decode_utf8_at;
using unicode::DecodedCodePoint;
using unicode::is_unicode_whitespace;

bool is_line_break(char32_t code_point) {
  return code_point == '\n' || code_point == '\r' || code_point == 0x0B || code_point == 0x0C ||
         code_point == 0x85 || code_point == 0x2028 || code_point == 0x2029;
}

bool is_control(char32_t code_point) {
  return code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F);
}

// Accumulates whitespace between visible characters and emits its normalised form only
// when the next visible character arrives, so leading/trailing whitespace vanishes.
class SanitizedWriter {
 public:
  void add_line_break() { pending_line_breaks_ += 1; }

  void add_horizontal_space(char32_t code_point) {
    pending_spaces_ += 1;
    if (code_point != '\t') pending_only_tabs_ = false;
  }

  void add_visible(char32_t code_point) {
    if (!out_.empty()) flush_pending();
    pending_line_breaks_ = 0;
    pending_spaces_ = 0;
    pending_only_tabs_ = true;
    append_utf8(out_, code_point);
  }

  std::string take() { return std::move(out_); }

 private:
  void flush_pending() {
    if (pending_line_breaks_ > 0) {
      out_.append(std::min<int64_t>(pending_line_breaks_, 2), '\n');
    } else if (pending_spaces_ > 0) {
      out_.push_back(pending_only_tabs_ ? '\t' : ' ');
    }
  }

  std::string out_;
  int64_t pending_line_breaks_ = 0;
  int64_t pending_spaces_ = 0;
  bool pending_only_tabs_ = true;
};

// Start offset of the code point that ends at `end` (exclusive); precondition end > 0.
std::size_t last_code_point_start(std::string_view text, std::size_t end) {
  assert(end > 0);
  std::size_t start = end - 1;
  const std::size_t lowest = end >= 4 ? end - 4 : 0;
  while (start > lowest && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return start;
}

bool is_closing_mark(char32_t code_point) {
  switch (code_point) {
    case '"':
    case '\'':
    case ')':
    case ']':
    case '}':
    case 0x00BB:  // »
    case 0x2019:  // ’
    case 0x201D:  // ”
    case 0x300D:  // 」
    case 0x300F:  // 』
      return true;
    default:
      return false;
  }
}

bool is_sentence_mark(char32_t code_point) {
  switch (code_point) {
    case '.':
    case '!':
    case '?':
    case 0x2026:  // …
    case 0x3002:  // 。
    case 0xFF01:  // ！
    case 0xFF1F:  // ？
      return true;
    default:
      return false;
  }
}

bool is_abbreviation(std::string_view word) {
  static constexpr std::array<std::string_view, 10> kAbbreviations = {
      "mr.", "mrs.", "ms.", "dr.", "prof.", "sr.", "jr.", "vs.", "e.g.", "i.e."};
  if (word.size() > 5) return false;
  std::string lower(word);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return std::find(kAbbreviations.begin(), kAbbreviations.end(), lower) != kAbbreviations.end();
}

struct WordRange {
  std::size_t begin;  // Index of the first word.
  std::size_t end;    // One past the last word.
  std::size_t size() const { return end - begin; }
};

std::vector<WordRange> find_sentences(std::string_view text, const std::vector<WordSpan>& words) {
  std::vector<WordRange> sentences;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string_view word = text.substr(words[i].begin, words[i].end - words[i].begin);
    if (ends_sentence(word) || i + 1 == words.size()) {
      sentences.push_back({begin, i + 1});
      begin = i + 1;
    }
  }
  return sentences;
}

// Greedy packing of whole sentences; over-long sentences are cut every max_words words.
std::vector<WordRange> pack_sentences(const std::vector<WordRange>& sentences,
                                      std::size_t max_words) {
  std::vector<WordRange> chunks;
  WordRange current{0, 0};
  for (const WordRange& sentence : sentences) {
    if (current.size() + sentence.size() <= max_words) {
      current = current.size() == 0 ? sentence : WordRange{current.begin, sentence.end};
      continue;
    }
    if (current.size() > 0) chunks.push_back(current);
    std::size_t begin = sentence.begin;
    while (sentence.end - begin > max_words) {
      chunks.push_back({begin, begin + max_words});
      begin += max_words;
    }
    current = {begin, sentence.end};
  }
  if (current.size() > 0) chunks.push_back(current);
  return chunks;
}

std::string separator_between(std::string_view text, const WordSpan& left, const WordSpan& right) {
  const std::string_view gap = text.substr(left.end, right.begin - left.end);
  const auto line_breaks = std::count(gap.begin(), gap.end(), '\n');
  if (line_breaks >= 2) return "\n\n";
  if (line_breaks == 1) return "\n";
  return " ";
}

}  // namespace

std::string sanitize_text(std::string_view text) {
  SanitizedWriter writer;
  std::size_t offset = 0;
  while (offset < text.size()) {
    const DecodedCodePoint decoded = decode_utf8_at(text, offset);
    const char32_t code_point = decoded.code_point;
    offset += decoded.length_bytes;
    if (code_point == '\r' && offset < text.size() && text[offset] == '\n') continue;
    if (is_line_break(code_point)) {
      writer.add_line_break();
    } else if (is_unicode_whitespace(code_point)) {
      writer.add_horizontal_space(code_point);
    } else if (!is_control(code_point)) {
      writer.add_visible(code_point);
    }
  }
  return writer.take();
}

std::vector<WordSpan> find_words(std::string_view text) {
  std::vector<WordSpan> words;
  std::size_t offset = 0;
  bool in_word = false;
  while (offset < text.size()) {
    const DecodedCodePoint decoded = decode_utf8_at(text, offset);
    const bool space = is_unicode_whitespace(decoded.code_point);
    if (!space && !in_word) words.push_back({offset, offset});
    if (space && in_word) words.back().end = offset;
    in_word = !space;
    offset += decoded.length_bytes;
  }
  if (in_word) words.back().end = text.size();
  return words;
}

int64_t count_words(std::string_view text) {
  int64_t count = 0;
  bool in_word = false;
  std::size_t offset = 0;
  while (offset < text.size()) {
    const DecodedCodePoint decoded = decode_utf8_at(text, offset);
    const bool space = is_unicode_whitespace(decoded.code_point);
    if (!space && !in_word) ++count;
    in_word = !space;
    offset += decoded.length_bytes;
  }
  return count;
}

bool ends_sentence(std::string_view word) {
  std::size_t end = word.size();
  while (end > 0) {
    const std::size_t start = last_code_point_start(word, end);
    const char32_t code_point = decode_utf8_at(word, start).code_point;
    if (is_closing_mark(code_point)) {
      end = start;
      continue;
    }
    return is_sentence_mark(code_point) && !is_abbreviation(word.substr(0, end));
  }
  return false;
}

std::vector<TextChunk> split_into_chunks(std::string_view text, int64_t max_words) {
  assert(max_words >= 1 && max_words <= kChunkWordsMax);
  const std::vector<WordSpan> words = find_words(text);
  if (words.empty()) return {};
  const std::vector<WordRange> ranges =
      pack_sentences(find_sentences(text, words), static_cast<std::size_t>(max_words));

  std::vector<TextChunk> chunks;
  chunks.reserve(ranges.size());
  for (const WordRange& range : ranges) {
    assert(range.size() >= 1 && range.size() <= static_cast<std::size_t>(max_words));
    const WordSpan& first = words[range.begin];
    const WordSpan& last = words[range.end - 1];
    const bool is_final = range.end == words.size();
    chunks.push_back({std::string(text.substr(first.begin, last.end - first.begin)),
                      static_cast<int64_t>(range.size()),
                      is_final ? "" : separator_between(text, last, words[range.end])});
  }
  return chunks;
}

std::string join_chunks(std::span<const std::string> texts, std::span<const TextChunk> chunks) {
  assert(texts.size() == chunks.size());
  std::string joined;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    joined += texts[i];
    joined += chunks[i].separator_after;
  }
  return joined;
}

}  // namespace content
