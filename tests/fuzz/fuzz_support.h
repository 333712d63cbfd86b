// Shared by the fuzz targets of tests/fuzz: the property check that stops a run, the UTF-8
// rule that strings produced from untrusted input must meet, and the framing of inputs made
// of several parts. Each target documents its own framing at its top.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/json_fields.h"

namespace fuzz {

// Writes `what` and where to stderr and aborts: libFuzzer reports it as a crash with its
// reproducer, and the corpus replay test fails. Used instead of assert() because the test
// build that replays the corpora defines NDEBUG.
[[noreturn]] void property_failed(const char* what, const char* file, int line);

// The input bytes as text (not necessarily valid UTF-8).
std::string_view as_text(const uint8_t* data, std::size_t size);

// Removes and returns the first byte of `input` (0 when empty): targets use it to choose a
// mode or a variant, so the fuzzer can reach each of them from any seed.
uint8_t take_byte(std::string_view& input);

// Splits `input` into `count` parts at its first `count - 1` NUL bytes. The last part keeps
// the rest of the input, NUL bytes included; parts beyond the input are empty.
std::vector<std::string_view> split_parts(std::string_view input, std::size_t count);

// The project's strict UTF-8 rule (no overlong forms, no surrogates, nothing above
// U+10FFFF): every error or reply text produced from untrusted bytes must meet it.
bool is_valid_utf8(std::string_view text);

// Valid UTF-8 without NUL bytes: what PostgreSQL text holds. Every string a parser returns
// from an untrusted JSON document must be storable (unicode/json_text.h).
bool is_storable_text(std::string_view text);

// The JSON text that `write(writer)` produces: the targets' serializers for round trips.
template <typename Write>
std::string write_json(Write&& write) {
  rapidjson::StringBuffer buffer;
  ledger::json::Writer writer(buffer);
  write(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Opens the object member `key` of a serializer's current object.
inline void begin_object(ledger::json::Writer& writer, const char* key) {
  writer.Key(key);
  writer.StartObject();
}

}  // namespace fuzz

// Checks a property of the code under test; see fuzz::property_failed.
#define FUZZ_REQUIRE(condition) \
  ((condition) ? static_cast<void>(0) : ::fuzz::property_failed(#condition, __FILE__, __LINE__))
