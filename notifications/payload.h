// Reading the outbox payloads (JSON objects the ledger wrote) in the handlers.
#pragma once

#include <rapidjson/document.h>

#include <string>

namespace notifications {

// The string member `name` of `payload`, or "" when the payload is not an object or the
// member is absent or not a string.
inline std::string payload_string(const rapidjson::Document& payload, const char* name) {
  if (!payload.IsObject()) return "";
  const auto member = payload.FindMember(name);
  if (member == payload.MemberEnd() || !member->value.IsString()) return "";
  return {member->value.GetString(), member->value.GetStringLength()};
}

}  // namespace notifications
