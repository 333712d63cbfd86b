// `ledgerctl report` end to end: a log with grants (plan allowances, admin), spends by
// feature, an expiry (a subscription deleted) and a refund ties out over the whole history
// and over a period that starts midway (its opening equal to the balances folded at that
// instant); a tampered balance projection is named; CSV carries the same figures.
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <thread>

#include "ledger/time_format.h"
#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"
#include "tests/support/ledgerctl_run.h"

namespace billing_tests {
namespace {

using http_tests::parse_json;
using http_tests::string_field;
using testing_support::CommandResult;
using testing_support::run_ledgerctl;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ReportTest : public BillingTest {
 protected:
  CommandResult report(const std::string& from, const std::string& to,
                       const std::string& format = "json") const {
    return run_ledgerctl({"report", "--from", from, "--to", to, "--format", format},
                         database_->url());
  }
  // available + reserved of `account` at `at`, as `ledgerctl balance --as-of` folds it.
  int64_t outstanding_at(const std::string& account, const std::string& at) const {
    const CommandResult balance =
        run_ledgerctl({"balance", account, "--as-of", at}, database_->url());
    if (balance.exit_code != 0) return 0;  // no events by then
    const rapidjson::Document document = parse_json(balance.out);
    return document["credits_available"].GetInt64() + document["credits_reserved"].GetInt64();
  }
};

TEST_F(ReportTest, TheLogTiesOutAndATamperedProjectionIsNamed) {
  const Subscriber who = subscriber("rep");
  const std::string user = token(who.account);
  const std::string admin = create_key("ops", {"admin"});
  ASSERT_EQ(deliver_ok(checkout_completed("evt_rep_0", now_s() - 5 * kDayS, who, "pro")),
            "processed");
  const std::string first = string_field(parse_json(reserve(user, 700).body), "reservation_id");
  ASSERT_EQ(capture(user, first, 650).status, 200);
  ASSERT_EQ(reserve(token("walk-in"), 40).status, 201);  // a second account, reserved only
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::string midway = ledger::format_rfc3339(now_us());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(grant(admin, who.account, 100).status, 200);
  ASSERT_EQ(
      testing_support::http_post(url("/api/v1/admin/accounts/" + who.account + "/refunds"),
                                 with_key(bearer(admin), "refund-rep-1"),
                                 R"({"amount":5,"reason":"bad output","reference":"ticket-1"})")
          .status,
      200);
  ASSERT_EQ(deliver_ok(subscription_event("customer.subscription.deleted", "evt_rep_1",
                                          now_s() - kDayS, who, "price_pro_monthly", "canceled",
                                          now_s() - 5 * kDayS, false, Shape::kBasil)),
            "processed");
  const std::string start = "2020-01-01T00:00:00Z";
  const std::string future = "2100-01-01T00:00:00Z";

  const CommandResult whole = report(start, future);
  ASSERT_EQ(whole.exit_code, 0) << whole.out << whole.err;
  const rapidjson::Document all = parse_json(whole.out);
  EXPECT_TRUE(all["balanced"].GetBool());
  EXPECT_EQ(all["opening_outstanding"].GetInt64(), 0);
  EXPECT_EQ(all["granted"]["admin"].GetInt64(), 100);
  EXPECT_EQ(all["spent"]["humanize"].GetInt64(), 650);
  EXPECT_EQ(all["refunded"].GetInt64(), 5);
  EXPECT_GT(all["expired"].GetInt64(), 0) << whole.out;
  const int64_t closing =
      balance_row(who.account)->credits_available + balance_row(who.account)->credits_reserved +
      balance_row("walk-in")->credits_available + balance_row("walk-in")->credits_reserved;
  EXPECT_EQ(all["closing_outstanding"].GetInt64(), closing);
  int64_t granted = 0;
  for (const auto& member : all["granted"].GetObject()) granted += member.value.GetInt64();
  EXPECT_EQ(granted + 5 - 650 - all["expired"].GetInt64(), closing);

  // From midway: the opening is what the accounts held then; the admin grant falls inside.
  const CommandResult later = report(midway, future);
  ASSERT_EQ(later.exit_code, 0) << later.out << later.err;
  const rapidjson::Document part = parse_json(later.out);
  EXPECT_EQ(part["opening_outstanding"].GetInt64(),
            outstanding_at(who.account, midway) + outstanding_at("walk-in", midway));
  EXPECT_EQ(part["granted"]["admin"].GetInt64(), 100);
  EXPECT_FALSE(part["spent"].HasMember("humanize"));
  EXPECT_EQ(part["closing_outstanding"].GetInt64(), closing);

  const CommandResult csv = report(start, future, "csv");
  ASSERT_EQ(csv.exit_code, 0);
  EXPECT_EQ(csv.out.rfind("metric,key,value\n", 0), 0u);
  EXPECT_NE(csv.out.find("spent,\"humanize\",650\n"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find("balanced,\"\",true\n"), std::string::npos) << csv.out;

  // A tampered projection: the report names the account and exits 1.
  {
    auto connection = database_->connect();
    pqxx::work work(*connection);
    // Consistent in itself (the table's check constraint holds): one credit conjured.
    work.exec0(
        "UPDATE ledger_accounts SET credits_available = credits_available + 1,"
        " credits_granted = credits_granted + 1 WHERE account_id = 'walk-in'");
    work.commit();
  }
  const CommandResult tampered = report(start, future);
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE(tampered.err.find("account=walk-in"), std::string::npos) << tampered.err;
  EXPECT_FALSE(parse_json(tampered.out)["balanced"].GetBool());
  EXPECT_EQ(report(future, start).exit_code, 2);
}

}  // namespace
}  // namespace billing_tests
