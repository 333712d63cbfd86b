// Table-driven phrase replacement for the local rewriter.
#include "content/local_rewriter.h"

#include <array>
#include <cassert>
#include <span>

namespace content {
namespace {

struct Replacement {
  std::string_view from;  // Lower-case ASCII; matched case-insensitively.
  std::string_view to;
};

// Applied only where a sentence starts.
constexpr std::array kSentenceOpeners = std::to_array<Replacement>({
    {"in conclusion,", "all in all,"},
    {"furthermore,", "also,"},
    {"moreover,", "besides,"},
    {"additionally,", "on top of that,"},
    {"in addition,", "plus,"},
    {"however,", "still,"},
    {"therefore,", "so,"},
    {"thus,", "so,"},
    {"consequently,", "as a result,"},
    {"nevertheless,", "even so,"},
    {"ultimately,", "in the end,"},
    {"overall,", "on the whole,"},
    {"firstly,", "first,"},
    {"secondly,", "second,"},
    {"lastly,", "finally,"},
    {"in summary,", "in short,"},
});

// Applied anywhere.
constexpr std::array kPhrases = std::to_array<Replacement>({
    {"it is important to note that", "note that"},
    {"it is worth noting that", "note that"},
    {"in today's fast-paced world", "today"},
    {"due to the fact that", "because"},
    {"at this point in time", "now"},
    {"in order to", "to"},
    {"in conclusion", "all in all"},
    {"a plethora of", "plenty of"},
    {"a myriad of", "many"},
    {"prior to", "before"},
    {"delve into", "dig into"},
    {"delves into", "digs into"},
    {"furthermore", "also"},
    {"moreover", "besides"},
    {"additionally", "also"},
    {"utilize", "use"},
    {"utilizes", "uses"},
    {"utilized", "used"},
    {"utilizing", "using"},
    {"utilization", "use"},
    {"leverage", "use"},
    {"leverages", "uses"},
    {"leveraging", "using"},
    {"facilitate", "help"},
    {"facilitates", "helps"},
    {"demonstrate", "show"},
    {"demonstrates", "shows"},
    {"demonstrated", "showed"},
    {"commence", "start"},
    {"commences", "starts"},
    {"subsequently", "later"},
    {"numerous", "many"},
    {"robust", "strong"},
    {"seamless", "smooth"},
    {"seamlessly", "smoothly"},
    {"crucial", "key"},
    {"pivotal", "key"},
    {"paramount", "vital"},
    {"comprehensive", "thorough"},
    {"enhance", "improve"},
    {"enhances", "improves"},
    {"nevertheless", "still"},
    {"consequently", "so"},
    {"approximately", "about"},
    {"individuals", "people"},
    {"possess", "have"},
    {"obtain", "get"},
    {"assist", "help"},
    {"regarding", "about"},
});

// Applied in every mode except formal/academic, only when a word follows.
constexpr std::array kContractions = std::to_array<Replacement>({
    {"do not", "don't"},         {"does not", "doesn't"},
    {"did not", "didn't"},       {"is not", "isn't"},
    {"are not", "aren't"},       {"was not", "wasn't"},
    {"were not", "weren't"},     {"have not", "haven't"},
    {"has not", "hasn't"},       {"had not", "hadn't"},
    {"will not", "won't"},       {"would not", "wouldn't"},
    {"should not", "shouldn't"}, {"could not", "couldn't"},
    {"cannot", "can't"},         {"it is", "it's"},
    {"that is", "that's"},       {"there is", "there's"},
    {"we are", "we're"},         {"they are", "they're"},
    {"you are", "you're"},       {"i am", "I'm"},
    {"we will", "we'll"},        {"they will", "they'll"},
    {"let us", "let's"},
});

// Applied in formal/academic modes. Ambiguous forms ("it's": is/has) are left alone.
constexpr std::array kExpansions = std::to_array<Replacement>({
    {"don't", "do not"},
    {"doesn't", "does not"},
    {"didn't", "did not"},
    {"isn't", "is not"},
    {"aren't", "are not"},
    {"wasn't", "was not"},
    {"weren't", "were not"},
    {"haven't", "have not"},
    {"hasn't", "has not"},
    {"hadn't", "had not"},
    {"won't", "will not"},
    {"wouldn't", "would not"},
    {"shouldn't", "should not"},
    {"couldn't", "could not"},
    {"can't", "cannot"},
    {"we're", "we are"},
    {"they're", "they are"},
    {"you're", "you are"},
    {"i'm", "I am"},
    {"let's", "let us"},
});

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper_ascii(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool is_upper_ascii(char c) { return c >= 'A' && c <= 'Z'; }
bool is_letter_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || byte >= 0x80;
}
// Bytes that continue a word: letters (any script), digits, apostrophes, hyphens.
bool is_word_byte(char c) {
  return is_letter_byte(c) || (c >= '0' && c <= '9') || c == '\'' || c == '-';
}

bool matches_at(std::string_view text, std::size_t offset, std::string_view pattern) {
  if (text.size() - offset < pattern.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (lower_ascii(text[offset + i]) != pattern[i]) return false;
  }
  const std::size_t end = offset + pattern.size();
  return end == text.size() || !is_word_byte(text[end]) || !is_word_byte(pattern.back());
}

bool word_follows(std::string_view text, std::size_t end) {
  return end + 1 < text.size() && text[end] == ' ' && is_letter_byte(text[end + 1]);
}

struct Match {
  const Replacement* replacement = nullptr;
};

Match find_match(std::string_view text, std::size_t offset, std::span<const Replacement> table,
                 bool require_following_word) {
  for (const Replacement& candidate : table) {
    if (!matches_at(text, offset, candidate.from)) continue;
    if (require_following_word && !word_follows(text, offset + candidate.from.size())) continue;
    return {&candidate};
  }
  return {};
}

class Rewriter {
 public:
  Rewriter(std::string_view text, bool formal) : text_(text), formal_(formal) {
    out_.reserve(text.size() + text.size() / 8);
  }

  std::string run() {
    std::size_t offset = 0;
    while (offset < text_.size()) {
      const bool word_start = offset == 0 || !is_word_byte(text_[offset - 1]);
      const Match match = word_start ? find_any_match(offset) : Match{};
      if (match.replacement != nullptr) {
        emit_replacement(offset, *match.replacement);
        offset += match.replacement->from.size();
      } else {
        emit_byte(text_[offset]);
        offset += 1;
      }
    }
    return std::move(out_);
  }

 private:
  Match find_any_match(std::size_t offset) const {
    if (!is_letter_byte(text_[offset])) return {};
    if (at_sentence_start_) {
      const Match opener = find_match(text_, offset, kSentenceOpeners, false);
      if (opener.replacement != nullptr) return opener;
    }
    const Match phrase = find_match(text_, offset, kPhrases, false);
    if (phrase.replacement != nullptr) return phrase;
    return formal_ ? find_match(text_, offset, kExpansions, false)
                   : find_match(text_, offset, kContractions, true);
  }

  void emit_replacement(std::size_t offset, const Replacement& replacement) {
    assert(!replacement.to.empty());
    std::string replaced(replacement.to);
    if (is_upper_ascii(text_[offset])) replaced[0] = upper_ascii(replaced[0]);
    out_ += replaced;
    at_sentence_start_ = false;
    after_sentence_mark_ = false;
  }

  void emit_byte(char c) {
    out_.push_back(c);
    if (c == '.' || c == '!' || c == '?') {
      after_sentence_mark_ = true;
    } else if (c == '\n' || ((c == ' ' || c == '\t') && after_sentence_mark_)) {
      at_sentence_start_ = true;
    } else if (c != ' ' && c != '\t') {
      at_sentence_start_ = false;
      after_sentence_mark_ = false;
    }
  }

  std::string_view text_;
  bool formal_;
  std::string out_;
  bool at_sentence_start_ = true;
  bool after_sentence_mark_ = false;
};

}  // namespace

std::string rewrite_locally(std::string_view text, std::string_view mode) {
  const bool formal = mode == "formal" || mode == "academic";
  return Rewriter(text, formal).run();
}

}  // namespace content
