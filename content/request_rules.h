// What a humanize/detect request may contain: word limits and the allowed values of
// `mode`, `readability` and `purpose` (seed contract). Exposed as arrays so an error
// response can list the allowed values.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace content {

inline constexpr int64_t kMinWords = 10;
inline constexpr int64_t kMaxWords = 10'000;

inline constexpr std::array<std::string_view, 6> kModes = {"standard", "fluency",  "creative",
                                                           "formal",   "academic", "simple"};
inline constexpr std::array<std::string_view, 5> kReadabilities = {
    "high_school", "university", "doctorate", "journalist", "marketing"};
inline constexpr std::array<std::string_view, 9> kPurposes = {
    "general",      "essay",  "article",  "marketing", "story",
    "cover_letter", "report", "business", "legal"};

// Defaults for a request that omits the field.
inline constexpr std::string_view kDefaultMode = "standard";
inline constexpr std::string_view kDefaultReadability = "university";
inline constexpr std::string_view kDefaultPurpose = "general";

struct HumanizeOptions {
  std::string mode = std::string(kDefaultMode);
  std::string readability = std::string(kDefaultReadability);
  std::string purpose = std::string(kDefaultPurpose);
};

enum class WordCountCheck { kOk, kTooShort, kTooLong };

// kTooShort below kMinWords, kTooLong above kMaxWords, else kOk.
WordCountCheck check_word_count(int64_t words);

// True when `value` is one of `allowed` (exact, case-sensitive match).
bool is_allowed(std::span<const std::string_view> allowed, std::string_view value);

bool is_allowed_mode(std::string_view mode);
bool is_allowed_readability(std::string_view readability);
bool is_allowed_purpose(std::string_view purpose);

}  // namespace content
