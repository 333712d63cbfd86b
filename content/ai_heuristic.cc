// Surface-feature heuristic for the built-in internal detector.
#include "content/ai_heuristic.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "content/text.h"

namespace content {
namespace {

constexpr std::size_t kTypeTokenWindowWords = 50;

constexpr std::array<std::string_view, 32> kStockPhrases = {
    "delve",
    "tapestry",
    "furthermore",
    "moreover",
    "additionally",
    "in conclusion",
    "it is important to note",
    "crucial",
    "pivotal",
    "utilize",
    "leverage",
    "seamless",
    "robust",
    "comprehensive",
    "foster",
    "realm",
    "landscape",
    "navigate",
    "ensure",
    "enhance",
    "overall",
    "notably",
    "vital",
    "paramount",
    "multifaceted",
    "intricate",
    "testament",
    "underscore",
    "showcase",
    "embark",
    "in today's",
    "ever-evolving",
};

double clamp01(double value) { return std::clamp(value, 0.0, 1.0); }

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string lower_ascii(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

// A word reduced for type counting: lower-case, leading/trailing ASCII punctuation cut.
std::string normalized_word(std::string_view word) {
  std::size_t begin = 0;
  std::size_t end = word.size();
  auto is_punct = [](char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; };
  while (begin < end && is_punct(word[begin])) ++begin;
  while (end > begin && is_punct(word[end - 1])) --end;
  return lower_ascii(word.substr(begin, end - begin));
}

double sentence_uniformity(std::string_view text, const std::vector<WordSpan>& words) {
  std::vector<double> lengths;
  double current = 0;
  for (std::size_t i = 0; i < words.size(); ++i) {
    current += 1;
    const std::string_view word = text.substr(words[i].begin, words[i].end - words[i].begin);
    if (ends_sentence(word) || i + 1 == words.size()) {
      lengths.push_back(current);
      current = 0;
    }
  }
  if (lengths.size() < 3) return 0.5;
  double sum = 0;
  for (const double length : lengths) sum += length;
  const double mean = sum / static_cast<double>(lengths.size());
  double squares = 0;
  for (const double length : lengths) squares += (length - mean) * (length - mean);
  const double deviation = std::sqrt(squares / static_cast<double>(lengths.size()));
  const double variation = deviation / mean;
  // Human prose typically varies by 0.5-0.8; uniform model output by 0.2-0.4.
  return clamp01((0.65 - variation) / 0.45);
}

double lexical_repetition(const std::vector<std::string>& tokens) {
  const std::size_t window = std::min(kTypeTokenWindowWords, tokens.size());
  assert(window > 0);
  double ratio_sum = 0;
  std::size_t windows = 0;
  std::unordered_map<std::string, int> counts;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    counts[tokens[i]] += 1;
    if (i >= window) {
      auto it = counts.find(tokens[i - window]);
      if (--it->second == 0) counts.erase(it);
    }
    if (i + 1 >= window) {
      ratio_sum += static_cast<double>(counts.size()) / static_cast<double>(window);
      windows += 1;
    }
  }
  const double ratio = ratio_sum / static_cast<double>(windows);
  return clamp01((0.80 - ratio) / 0.25);
}

int64_t count_occurrences(std::string_view haystack, std::string_view needle) {
  int64_t count = 0;
  std::size_t offset = haystack.find(needle);
  while (offset != std::string_view::npos) {
    const bool starts_word = offset == 0 || !is_ascii_letter(haystack[offset - 1]);
    if (starts_word) ++count;
    offset = haystack.find(needle, offset + needle.size());
  }
  return count;
}

double stock_phrase_rate(std::string_view lower_text, double word_count) {
  int64_t hits = 0;
  for (const std::string_view phrase : kStockPhrases) hits += count_occurrences(lower_text, phrase);
  const double per_hundred_words = 100.0 * static_cast<double>(hits) / word_count;
  return clamp01(per_hundred_words / 3.0);
}

double contraction_absence(const std::vector<std::string>& tokens) {
  int64_t contractions = 0;
  for (const std::string& token : tokens) {
    for (std::size_t i = 1; i + 1 < token.size(); ++i) {
      const bool ascii_apostrophe = token[i] == '\'';
      const bool curly_apostrophe = token.compare(i, 3, "\xE2\x80\x99") == 0;  // U+2019
      if ((ascii_apostrophe || curly_apostrophe) && is_ascii_letter(token[i - 1])) {
        ++contractions;
        break;
      }
    }
  }
  const double per_hundred_words =
      100.0 * static_cast<double>(contractions) / static_cast<double>(tokens.size());
  return clamp01(1.0 - per_hundred_words / 2.5);
}

}  // namespace

AiHeuristicFeatures compute_ai_heuristic_features(std::string_view text) {
  const std::vector<WordSpan> words = find_words(text);
  if (words.empty()) return {0, 0, 0, 0};
  std::vector<std::string> tokens;
  tokens.reserve(words.size());
  for (const WordSpan& word : words) {
    tokens.push_back(normalized_word(text.substr(word.begin, word.end - word.begin)));
  }
  const double word_count = static_cast<double>(words.size());
  return {sentence_uniformity(text, words), lexical_repetition(tokens),
          stock_phrase_rate(lower_ascii(text), word_count), contraction_absence(tokens)};
}

double heuristic_ai_score(std::string_view text) {
  const AiHeuristicFeatures features = compute_ai_heuristic_features(text);
  const double weighted = 0.35 * features.sentence_uniformity + 0.15 * features.lexical_repetition +
                          0.35 * features.stock_phrase_rate + 0.15 * features.contraction_absence;
  const double score = std::round(weighted * 1000.0) / 10.0;
  assert(score >= 0.0 && score <= 100.0);
  return score;
}

}  // namespace content
