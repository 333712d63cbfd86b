// GET /api/v1/credits/history end to end: a user's entries newest first with signed amounts
// and the balance after each, paged with a cursor that a concurrent write does not shift;
// features named for captures and releases; only the caller's own account; bad paging 400.
#include <gtest/gtest.h>

#include <vector>

#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::http_post;

class HistoryTest : public LedgerdTest {
 protected:
  rapidjson::Document history(const std::string& credential, const std::string& query) const {
    const TestResponse response =
        http_get(url("/api/v1/credits/history" + query), bearer(credential));
    EXPECT_EQ(response.status, 200) << response.body;
    return parse_json(response.body);
  }
};

TEST_F(HistoryTest, EntriesNewestFirstWithTheBalanceAfterEach) {
  const std::string bob = token("bob");
  const std::string admin = create_key("ops", {"admin"});
  // 300 (opening) -30 (reserve) +10 (capture 20 of 30) -5 (reserve) +5 (release) +100 (grant)
  const TestResponse detect =
      http_post(url("/api/v1/credits/reservations"), with_key(bearer(bob), "reserve-detect"),
                R"({"amount":30,"feature":"detect"})");
  ASSERT_EQ(detect.status, 201) << detect.body;
  const std::string first = string_field(parse_json(detect.body), "reservation_id");
  ASSERT_EQ(capture(bob, first, 20).status, 200);
  const std::string second = string_field(parse_json(reserve(bob, 5).body), "reservation_id");
  ASSERT_EQ(http_post(url("/api/v1/credits/reservations/" + second + "/release"),
                      with_key(bearer(bob), "release-1"), "")
                .status,
            200);
  ASSERT_EQ(grant(admin, "bob", 100).status, 200);

  // Every entry, a page of two at a time.
  std::vector<std::string> lines;
  std::vector<int64_t> amounts;
  std::vector<int64_t> balances;
  std::string query = "?limit=2";
  for (int pages = 0; pages < 10; ++pages) {
    const rapidjson::Document page = history(bob, query);
    ASSERT_TRUE(page["entries"].IsArray());
    for (const auto& entry : page["entries"].GetArray()) {
      std::string line =
          std::string(entry["type"].GetString()) + " " + std::to_string(entry["amount"].GetInt64());
      if (entry.HasMember("feature")) line += std::string(" ") + entry["feature"].GetString();
      if (entry.HasMember("source")) line += std::string(" ") + entry["source"].GetString();
      if (entry.HasMember("spent")) line += " spent " + std::to_string(entry["spent"].GetInt64());
      lines.push_back(line);
      amounts.push_back(entry["amount"].GetInt64());
      balances.push_back(entry["balance_after"].GetInt64());
      EXPECT_TRUE(entry.HasMember("at") && entry["at"].IsString());
    }
    if (page["next_before"].IsNull()) break;
    query = "?limit=2&before=" + std::to_string(page["next_before"].GetInt64());
    // A write between pages changes nothing of the pages still to come.
    if (pages == 0) {
      ASSERT_EQ(reserve(bob, 1).status, 201);
    }
  }
  const std::vector<std::string> expected = {"grant 100 admin",     "release 5 humanize",
                                             "reserve -5 humanize", "capture 10 detect spent 20",
                                             "reserve -30 detect",  "grant 300 plan_allowance"};
  EXPECT_EQ(lines, expected);
  ASSERT_EQ(balances.size(), expected.size());
  EXPECT_EQ(balances.front(), 380);  // before the reservation made between the pages
  EXPECT_EQ(balances.back(), 300);
  for (std::size_t i = 0; i + 1 < balances.size(); ++i) {
    EXPECT_EQ(balances[i] - amounts[i], balances[i + 1]) << i;
  }
  // The newest page now starts with that reservation.
  const rapidjson::Document newest = history(bob, "?limit=1");
  EXPECT_EQ(std::string(newest["entries"][0]["type"].GetString()), "reserve");
  EXPECT_EQ(newest["entries"][0]["balance_after"].GetInt64(), 379);
  expect_consistent("bob");
}

TEST_F(HistoryTest, OnlyTheCallersAccountAndPagingIsChecked) {
  const std::string bob = token("bob");
  ASSERT_EQ(reserve(token("carol"), 7).status, 201);
  ASSERT_EQ(reserve(bob, 3).status, 201);
  const rapidjson::Document page = history(bob, "");
  ASSERT_EQ(page["entries"].Size(), 2u);  // bob's reservation and bob's opening grant
  EXPECT_EQ(page["entries"][0]["amount"].GetInt64(), -3);
  EXPECT_EQ(std::string(page["account_id"].GetString()), "bob");
  EXPECT_TRUE(page["next_before"].IsNull());
  for (const char* bad : {"?limit=0", "?limit=201", "?limit=x", "?before=0", "?before=-4"}) {
    const TestResponse response =
        http_get(url(std::string("/api/v1/credits/history") + bad), bearer(bob));
    EXPECT_EQ(response.status, 400) << bad << " " << response.body;
  }
  EXPECT_EQ(http_get(url("/api/v1/credits/history"), {}).status, 401);
  EXPECT_EQ(http_get(url("/api/v1/credits/history"), bearer(create_key("svc", {"reserve"}))).status,
            403);
}

}  // namespace
}  // namespace http_tests
