// Request validation rules.
#include "content/request_rules.h"

#include <algorithm>

namespace content {

WordCountCheck check_word_count(int64_t words) {
  if (words < kMinWords) return WordCountCheck::kTooShort;
  if (words > kMaxWords) return WordCountCheck::kTooLong;
  return WordCountCheck::kOk;
}

bool is_allowed(std::span<const std::string_view> allowed, std::string_view value) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

bool is_allowed_mode(std::string_view mode) { return is_allowed(kModes, mode); }

bool is_allowed_readability(std::string_view readability) {
  return is_allowed(kReadabilities, readability);
}

bool is_allowed_purpose(std::string_view purpose) { return is_allowed(kPurposes, purpose); }

}  // namespace content
