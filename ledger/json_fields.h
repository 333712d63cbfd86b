// Small RapidJSON conveniences shared by the ledger's encoders and decoders and by the
// modules that parse untrusted JSON (http request bodies, webhook deliveries).
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

inline void put(Writer& writer, const char* key, std::string_view value) {
  writer.Key(key);
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}
inline void put(Writer& writer, const char* key, int64_t value) {
  writer.Key(key);
  writer.Int64(value);
}
inline void put(Writer& writer, const char* key, bool value) {
  writer.Key(key);
  writer.Bool(value);
}
// A string literal is a string: without this overload it would convert to bool.
inline void put(Writer& writer, const char* key, const char* value) {
  put(writer, key, std::string_view(value));
}

// Parses `text` and returns `read(document)` (which checks HasParseError itself). The
// document's values and the parser's stack start in buffers kept per thread (more chunks
// come from the heap for a larger text): the scans decode every event and every projected
// reservation, and a default Document allocates on each parse. The text is parsed in situ,
// in a copy kept per thread (its strings are not copied again): a NUL byte ends the text
// there as it ends it for Parse(text, length). The document must not escape `read`, and
// `read` must not call parse_scratch again.
template <class Read>
auto parse_scratch(std::string_view text, Read read) {
  constexpr std::size_t kBufferSize = 16 * 1024;
  alignas(16) thread_local char value_buffer[kBufferSize];
  alignas(16) thread_local char stack_buffer[kBufferSize];
  rapidjson::MemoryPoolAllocator<> value_allocator(value_buffer, sizeof value_buffer);
  rapidjson::MemoryPoolAllocator<> stack_allocator(stack_buffer, sizeof stack_buffer);
  rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                             rapidjson::MemoryPoolAllocator<>>
      document(&value_allocator, kBufferSize / 2, &stack_allocator);
  thread_local std::string insitu;
  insitu.assign(text);  // NUL-terminated, as ParseInsitu needs
  document.ParseInsitu(insitu.data());
  return read(static_cast<const decltype(document)&>(document));
}

// One JSON object as text: `fill(writer)` puts its members.
template <class Fill>
std::string object_text(Fill fill) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  fill(writer);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Returns the member as a string, or nullopt when missing or not a string.
inline std::optional<std::string> get_string(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return std::nullopt;
  const auto member = object.FindMember(key);
  if (member == object.MemberEnd() || !member->value.IsString()) return std::nullopt;
  return std::string(member->value.GetString(), member->value.GetStringLength());
}

// Returns the member as int64, or nullopt when missing or not an integer.
inline std::optional<int64_t> get_int64(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return std::nullopt;
  const auto member = object.FindMember(key);
  if (member == object.MemberEnd() || !member->value.IsInt64()) return std::nullopt;
  return member->value.GetInt64();
}

inline std::optional<bool> get_bool(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return std::nullopt;
  const auto member = object.FindMember(key);
  if (member == object.MemberEnd() || !member->value.IsBool()) return std::nullopt;
  return member->value.GetBool();
}

// Returns true when brackets outside strings nest deeper than `depth_max`. Run before the
// parser so hostile input cannot make it (or a document's destructor) recurse deeply.
inline bool nesting_exceeds(std::string_view text, std::size_t depth_max) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > depth_max) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace ledger::json
