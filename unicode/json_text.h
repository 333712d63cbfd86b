// The storable-text check applied to parsed JSON documents from untrusted sources (request
// bodies, webhook deliveries, provider responses).
#pragma once

#include <rapidjson/document.h>

#include <vector>

#include "unicode/utf8.h"

namespace unicode {

// True when every string of `value` (member names included) is storable text
// (is_storable_text). RapidJSON's encoding validation checks the raw bytes only:
// an escape such as "\udc00" (a lone low surrogate) or "\u0000" unescapes to bytes that
// PostgreSQL refuses and that must never be echoed, so parsed documents from untrusted
// sources are checked with this too. Iterative: no recursion on hostile nesting.
inline bool json_strings_are_storable(const rapidjson::Value& root) {
  std::vector<const rapidjson::Value*> pending{&root};
  while (!pending.empty()) {
    const rapidjson::Value& value = *pending.back();
    pending.pop_back();
    if (value.IsString()) {
      if (!is_storable_text({value.GetString(), value.GetStringLength()})) return false;
    } else if (value.IsArray()) {
      for (const rapidjson::Value& element : value.GetArray()) pending.push_back(&element);
    } else if (value.IsObject()) {
      for (const auto& member : value.GetObject()) {
        if (!is_storable_text({member.name.GetString(), member.name.GetStringLength()})) {
          return false;
        }
        pending.push_back(&member.value);
      }
    }
  }
  return true;
}

}  // namespace unicode
