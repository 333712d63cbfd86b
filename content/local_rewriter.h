// The built-in local rewriter: the humanizer used when HUMANIZER_URL is unset. It is a
// deterministic, rule-based stand-in for development and tests, NOT a language model:
// it swaps stock "AI-sounding" words and phrases for plainer ones ("utilize" -> "use",
// "furthermore" -> "also", "in conclusion" -> "all in all"), varies stock sentence
// openers ("However," -> "Still,") and adjusts contractions to the mode.
#pragma once

#include <string>
#include <string_view>

namespace content {

// Returns the rewritten text. Same input, same output. Only ASCII phrases at word
// boundaries are replaced; every other byte (any script, emoji, whitespace) is copied
// unchanged, so valid UTF-8 stays valid. The first letter of a replaced phrase keeps
// its case. Modes "formal" and "academic" expand contractions ("don't" -> "do not");
// every other mode contracts ("do not" -> "don't") where a word follows.
std::string rewrite_locally(std::string_view text, std::string_view mode);

}  // namespace content
