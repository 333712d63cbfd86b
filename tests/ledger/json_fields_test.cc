// The guard run before every JSON parse of outside input (ledger/json_fields.h
// nesting_exceeds): brackets count outside strings only, escapes inside strings included.
#include <gtest/gtest.h>

#include <string>

#include "ledger/json_fields.h"

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

}  // namespace
