// GET /api/v1/credits/usage end to end: credits spent per day and feature from the usage
// projection, equal to the captures in the log; verify compares the projection with the
// fold (and catches an edited row), replay and the migration's backfill rebuild it
// identically; bad ranges and groupings are 400; only the caller's account.
#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <variant>

#include "audit/verify.h"
#include "ledger/migrations.h"
#include "ledger/time_format.h"
#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::http_post;

class UsageTest : public LedgerdTest {
 protected:
  TestResponse usage(const std::string& credential, const std::string& query) const {
    return http_get(url("/api/v1/credits/usage" + query), bearer(credential));
  }
  std::string spend(const std::string& credential, const std::string& feature, int64_t reserve,
                    int64_t capture_amount) const {
    const TestResponse reserved =
        http_post(url("/api/v1/credits/reservations"), with_key(bearer(credential), fresh()),
                  R"({"amount":)" + std::to_string(reserve) + R"(,"feature":")" + feature + "\"}");
    EXPECT_EQ(reserved.status, 201) << reserved.body;
    const std::string id = string_field(parse_json(reserved.body), "reservation_id");
    if (capture_amount > 0) {
      EXPECT_EQ(capture(credential, id, capture_amount).status, 200);
    }
    return id;
  }
  std::string fresh() const { return "usage-key-" + std::to_string(++keys_); }
  std::string rows(const std::string& sql) const {
    auto connection = database_->connect();
    pqxx::read_transaction work(*connection);
    std::string text;
    for (const auto& row : work.exec(sql)) {
      for (const auto& field : row) text += field.c_str() + std::string(" ");
      text += "\n";
    }
    return text;
  }
  void exec(const std::string& sql) const {
    auto connection = database_->connect();
    pqxx::work work(*connection);
    work.exec(sql);
    work.commit();
  }
  mutable int keys_ = 0;
};

TEST_F(UsageTest, CapturesPerDayAndFeatureEqualTheLogAndSurviveReplay) {
  const std::string dana = token("dana");
  spend(dana, "humanize", 40, 30);
  spend(dana, "detect", 10, 10);
  spend(dana, "humanize", 25, 25);
  spend(dana, "detect", 5, 0);  // reserved only: spends nothing
  spend(token("erin"), "humanize", 7, 7);
  const std::string today =
      ledger::format_rfc3339(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count())
          .substr(0, 10);

  const TestResponse by_feature = usage(dana, "?group_by=feature");
  ASSERT_EQ(by_feature.status, 200) << by_feature.body;
  const rapidjson::Document features = parse_json(by_feature.body);
  EXPECT_EQ(int_field(features, "total"), 65);
  ASSERT_EQ(features["usage"].Size(), 2u);
  EXPECT_EQ(std::string(features["usage"][0]["feature"].GetString()), "detect");
  EXPECT_EQ(features["usage"][0]["credits"].GetInt64(), 10);
  EXPECT_EQ(std::string(features["usage"][1]["feature"].GetString()), "humanize");
  EXPECT_EQ(features["usage"][1]["credits"].GetInt64(), 55);
  const rapidjson::Document by_day = parse_json(usage(dana, "").body);
  EXPECT_EQ(std::string(by_day["group_by"].GetString()), "day");
  EXPECT_EQ(std::string(by_day["to"].GetString()), today);
  ASSERT_EQ(by_day["usage"].Size(), 1u);
  EXPECT_EQ(std::string(by_day["usage"][0]["day"].GetString()), today);
  EXPECT_EQ(by_day["usage"][0]["credits"].GetInt64(), 65);
  // The sum equals what the log's captures spent.
  int64_t captured = 0;
  for (const ledger::StoredEvent& event : stored_events("dana")) {
    if (event.event_type != "ReservationCaptured") continue;
    const rapidjson::Document payload = parse_json(event.payload);
    captured += payload["amount_captured"].GetInt64();
  }
  EXPECT_EQ(captured, 65);
  // A range without that day is empty.
  const rapidjson::Document old =
      parse_json(usage(dana, "?from=2020-01-01&to=2020-12-31&group_by=day_and_feature").body);
  EXPECT_EQ(old["usage"].Size(), 0u);
  EXPECT_EQ(int_field(old, "total"), 0);

  const std::string projected = rows("SELECT * FROM ledger_usage_daily ORDER BY 1, 2, 3");
  EXPECT_TRUE(audit::verify_ledger(*connect_ledger_database()).clean);
  // Replay rebuilds the same rows; so does the migration's backfill from the log.
  EXPECT_EQ(audit::replay_projections(*connect_ledger_database()), 2);
  EXPECT_EQ(rows("SELECT * FROM ledger_usage_daily ORDER BY 1, 2, 3"), projected);
  const ledger::Migration& migration = ledger::embedded_migrations().at(10);
  ASSERT_EQ(migration.version, 11);
  const std::size_t backfill = migration.sql.find("INSERT INTO ledger_usage_daily");
  ASSERT_NE(backfill, std::string::npos);
  exec("DELETE FROM ledger_usage_daily");
  exec(migration.sql.substr(backfill));
  EXPECT_EQ(rows("SELECT * FROM ledger_usage_daily ORDER BY 1, 2, 3"), projected);
  // An edited row is a verify failure naming the account.
  exec(
      "UPDATE ledger_usage_daily SET credits = credits + 1 WHERE account_id = 'dana'"
      " AND feature = 'detect'");
  const audit::VerifyReport report = audit::verify_ledger(*connect_ledger_database());
  EXPECT_FALSE(report.clean);
  EXPECT_EQ(report.stream_id, "dana");
  EXPECT_NE(report.problem.find("usage of detect"), std::string::npos) << report.problem;
}

TEST_F(UsageTest, BadRangesAndGroupingsAre400) {
  const std::string dana = token("dana");
  for (const char* bad :
       {"?from=2026-13-01", "?to=yesterday", "?from=2026-01-01T00:00:00Z",
        "?from=2026-02-01&to=2026-01-01", "?from=2024-01-01&to=2025-06-01", "?group_by=week"}) {
    EXPECT_EQ(usage(dana, bad).status, 400) << bad;
  }
  EXPECT_EQ(http_get(url("/api/v1/credits/usage"), {}).status, 401);
}

}  // namespace
}  // namespace http_tests
