// The guard run before every JSON parse of outside input (ledger/json_fields.h
// nesting_exceeds): brackets count outside strings only, escapes inside strings included.
// And parse_scratch, the scans' parser: in situ, yet the same values and errors as Parse.
#include "ledger/json_fields.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using ledger::json::nesting_exceeds;

TEST(JsonFields, NestingCountsBracketsOutsideStrings) {
  EXPECT_FALSE(nesting_exceeds("", 0));
  EXPECT_FALSE(nesting_exceeds("1", 0));
  EXPECT_TRUE(nesting_exceeds("[]", 0));
  EXPECT_FALSE(nesting_exceeds("[]", 1));
  EXPECT_FALSE(nesting_exceeds(R"({"a":[1,{"b":2}]})", 3));
  EXPECT_TRUE(nesting_exceeds(R"({"a":[1,{"b":2}]})", 2));
  // Siblings do not add up: depth is the deepest path, not the number of brackets.
  EXPECT_FALSE(nesting_exceeds("[[],[],[],[]]", 2));
  // Brackets inside strings, escaped quotes and escaped backslashes are text.
  EXPECT_FALSE(nesting_exceeds(R"(["[[[[[[", "{{{{"])", 1));
  EXPECT_FALSE(nesting_exceeds(R"(["a\"[[[[", "b"])", 1));
  EXPECT_TRUE(nesting_exceeds(R"(["a\\", [[1]]])", 2)) << "the string ended at \\\\\"";
  // Unbalanced closers never make the depth negative (the parser refuses such text).
  EXPECT_TRUE(nesting_exceeds("]]]][[", 1));
  EXPECT_FALSE(nesting_exceeds("]]]][", 1));
}

TEST(JsonFields, HostileDepthIsCaughtBeforeAnyParser) {
  const std::string deep(100'000, '[');
  EXPECT_TRUE(nesting_exceeds(deep, 64));
  EXPECT_FALSE(nesting_exceeds(std::string(64, '[') + std::string(64, ']'), 64));
  EXPECT_TRUE(nesting_exceeds(std::string(65, '{'), 64));
}

// Member "s" of `text` as parse_scratch reads it, nullopt on a parse error; and as
// Document::Parse(text, length) reads it.
std::optional<std::string> scratch_string(std::string_view text) {
  return ledger::json::parse_scratch(text, [](const auto& d) -> std::optional<std::string> {
    if (d.HasParseError()) return std::nullopt;
    return ledger::json::get_string(d, "s");
  });
}
std::optional<std::string> parsed_string(std::string_view text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError()) return std::nullopt;
  return ledger::json::get_string(d, "s");
}

TEST(JsonFields, ScratchParsingReadsWhatParseReads) {
  const std::vector<std::pair<std::string, std::optional<std::string>>> cases = {
      {R"({"s":"plain"})", "plain"},
      // Escapes decode in place: the decoded bytes, never the escape text.
      {R"({"s":"a\"b\\c\n\u00e9\ud83d\ude00"})", "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80"},
      {R"({"s":"x\u0000y"})", std::string("x\0y", 3)},
      // A NUL byte ends the text, for both; inside a string it is an error.
      {std::string("{\"s\":\"a\"}\0{\"s\":\"b\"}", 19), "a"},
      {std::string("{\"s\":\"a\0b\"}", 11), std::nullopt},
      {R"({"s":"a"} x)", std::nullopt},
      {R"({"s":"a")", std::nullopt},
      {R"({"s":"\ud800"})", std::nullopt},
      // The per-thread copy of one text never leaks into the next, shorter one.
      {R"({"s":"a much longer string than the next"})", "a much longer string than the next"},
      {R"({"s":"b"})", "b"},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(scratch_string(text), expected) << text;
    EXPECT_EQ(parsed_string(text), expected) << text;
  }
}

}  // namespace
