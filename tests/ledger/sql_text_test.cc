// Array literals sent as statement parameters and text[] values read back: escaping of
// quotes and backslashes, empty and NULL elements, and the round trip through PostgreSQL.
#include <gtest/gtest.h>

#include "ledger/sql_text.h"
#include "tests/support/test_database.h"

namespace {

using namespace ledger::sql;

TEST(SqlText, TextArrayEscapesQuotesAndBackslashes) {
  EXPECT_EQ(text_array({}), "{}");
  EXPECT_EQ(text_array({"a", ""}), R"({"a",""})");
  EXPECT_EQ(text_array({R"(say "hi")", R"(C:\dir)"}), R"({"say \"hi\"","C:\\dir"})");
  // At either end, side by side, and nothing but.
  EXPECT_EQ(text_array({R"("\x\")", R"(\\"")", "\\"}), R"({"\"\\x\\\"","\\\\\"\"","\\"})");
  EXPECT_EQ(int64_array({1, -2, 9'223'372'036'854'775'807}), "{1,-2,9223372036854775807}");
  EXPECT_EQ(bool_array({true, false}), "{t,f}");
}

TEST(SqlText, ParseTextArrayReadsWhatPostgresPrints) {
  EXPECT_EQ(parse_text_array("{}"), std::vector<std::string>{});
  EXPECT_EQ(parse_text_array("{a,b}"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parse_text_array(R"({"a b","x\"y","c\\d",NULL,"NULL"})"),
            (std::vector<std::string>{"a b", "x\"y", "c\\d", "NULL"}));
  EXPECT_EQ(parse_text_array("not an array"), std::vector<std::string>{});
}

TEST(SqlText, ArraysRoundTripThroughPostgres) {
  testing_support::TestDatabase db;
  auto connection = db.connect();
  pqxx::nontransaction work(*connection);
  const std::vector<std::string> values = {"plain", "", R"(q"uo\te)", "{braces},comma", " sp ",
                                           "NULL", "caf\xC3\xA9"};
  const pqxx::row row = work.exec_params1("SELECT $1::text[]::text, array_length($1::text[], 1)",
                                          text_array(values));
  EXPECT_EQ(row[1].as<int>(), static_cast<int>(values.size()));
  EXPECT_EQ(parse_text_array(row[0].as<std::string>()), values);
}

}  // namespace
