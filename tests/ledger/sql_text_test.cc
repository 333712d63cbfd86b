// Arrays sent as statement parameters (binary) and text[] values read back: the binary
// layout, the literal's escaping of quotes and backslashes, empty and NULL elements, and the
// round trip through PostgreSQL.
#include "ledger/sql_text.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <string_view>

#include "ledger/pg.h"
#include "tests/support/test_database.h"

namespace {

using namespace ledger::sql;

TEST(SqlText, TextArrayLiteralEscapesQuotesAndBackslashes) {
  EXPECT_EQ(text_array_literal({}), "{}");
  EXPECT_EQ(text_array_literal({"a", ""}), R"({"a",""})");
  EXPECT_EQ(text_array_literal({R"(say "hi")", R"(C:\dir)"}), R"({"say \"hi\"","C:\\dir"})");
  // At either end, side by side, and nothing but.
  EXPECT_EQ(text_array_literal({R"("\x\")", R"(\\"")", "\\"}), R"({"\"\\x\\\"","\\\\\"\"","\\"})");
}

// PostgreSQL's binary array layout: dimensions, NULL flag, element type, length and lower
// bound, then each element's length and bytes (an empty array has no dimension).
TEST(SqlText, BinaryArraysHaveArrayRecvsLayout) {
  const pg::Param empty = text_array({});
  EXPECT_TRUE(empty.is_binary);
  EXPECT_EQ(empty.value, std::string("\0\0\0\0\0\0\0\0\0\0\0\x19", 12));
  const pg::Param text = text_array({"ab", ""});
  EXPECT_EQ(text.value, std::string("\0\0\0\x01\0\0\0\0\0\0\0\x19\0\0\0\x02\0\0\0\x01"
                                    "\0\0\0\x02"
                                    "ab\0\0\0\0",
                                    30));
  const pg::Param numbers = int64_array({-2});
  EXPECT_EQ(numbers.value, std::string("\0\0\0\x01\0\0\0\0\0\0\0\x14\0\0\0\x01\0\0\0\x01"
                                       "\0\0\0\x08\xff\xff\xff\xff\xff\xff\xff\xfe",
                                       32));
  const pg::Param flags = bool_array({true, false});
  EXPECT_EQ(flags.value, std::string("\0\0\0\x01\0\0\0\0\0\0\0\x10\0\0\0\x02\0\0\0\x01"
                                     "\0\0\0\x01\x01\0\0\0\x01\0",
                                     30));
}

TEST(SqlText, ParseTextArrayReadsWhatPostgresPrints) {
  EXPECT_EQ(parse_text_array("{}"), std::vector<std::string>{});
  EXPECT_EQ(parse_text_array("{a,b}"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parse_text_array(R"({"a b","x\"y","c\\d",NULL,"NULL"})"),
            (std::vector<std::string>{"a b", "x\"y", "c\\d", "NULL"}));
  EXPECT_EQ(parse_text_array("not an array"), std::vector<std::string>{});
}

// Every kind of element arrives as sent, through a prepared statement and an unnamed one.
TEST(SqlText, ArraysRoundTripThroughPostgres) {
  testing_support::TestDatabase db;
  const auto connection = db.connect_pg();
  const std::vector<std::string> values = {
      "plain", "",     R"(q"uo\te)",  "{braces},comma",
      " sp ",  "NULL", "caf\xC3\xA9", std::string(70'000, 'x')};
  const std::vector<int64_t> numbers = {0, -1, INT64_MIN, INT64_MAX};
  for (const std::string_view name :
       {std::string_view("sql_text_round_trip"), std::string_view()}) {
    const pg::Result rows = connection->exec(
        {name,
         "SELECT t, n, b FROM unnest($1::text[]) WITH ORDINALITY AS x(t, i)"
         " JOIN unnest($2::bigint[], $3::bool[]) WITH ORDINALITY AS y(n, b, j) ON i = j"
         " ORDER BY i",
         {text_array(values), int64_array({0, -1, INT64_MIN, INT64_MAX, 5, 6, 7, 8}),
          bool_array({true, false, true, false, true, false, true, false})}});
    ASSERT_EQ(rows.rows(), static_cast<int>(values.size())) << name;
    for (int i = 0; i < rows.rows(); ++i) {
      const auto index = static_cast<std::size_t>(i);
      EXPECT_EQ(rows.string(i, 0), values[index]) << i;
      if (index < numbers.size()) {
        EXPECT_EQ(rows.int64(i, 1), numbers[index]) << i;
      }
      EXPECT_EQ(rows.string(i, 2), i % 2 == 0 ? "t" : "f") << i;
    }
    const pg::Result empty = connection->exec({name.empty() ? "" : "sql_text_empty",
                                               "SELECT coalesce(array_length($1::text[], 1), 0),"
                                               " coalesce(array_length($2::bigint[], 1), 0)",
                                               {text_array({}), int64_array({})}});
    EXPECT_EQ(empty.int64(0, 0), 0);
    EXPECT_EQ(empty.int64(0, 1), 0);
  }
  // A nested literal, cast per element, and read back by parse_text_array.
  const pg::Result nested = connection->exec({"sql_text_nested",
                                              "SELECT (unnest($1::text[])::text[])::text",
                                              {text_array({text_array_literal(values)})}});
  EXPECT_EQ(parse_text_array(nested.string(0, 0)), values);
}

// An array whose element type is not the statement's is refused by the server, whole.
TEST(SqlText, AnArrayOfAnotherElementTypeIsRefused) {
  testing_support::TestDatabase db;
  const auto connection = db.connect_pg();
  EXPECT_THROW(
      connection->exec(
          {"sql_text_wrong_type", "SELECT array_length($1::bigint[], 1)", {text_array({"1"})}}),
      pg::Error);
  EXPECT_EQ(connection->exec({"", "SELECT 1", {}}).int64(0, 0), 1);  // still usable
}

}  // namespace
