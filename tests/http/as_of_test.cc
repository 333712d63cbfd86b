// GET /api/v1/admin/accounts/{id}/balance?as_of=: the balance at several past instants,
// folded from the events, against a hand computation of the same history.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "ledger/time_format.h"
#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::http_post;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Separates writes in time so that an instant between them is unambiguous.
int64_t pause_and_mark() {
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  const int64_t mark = now_us();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  return mark;
}

struct Expected {
  int64_t available, reserved, granted, spent;
};

class HttpAsOfTest : public LedgerdTest {
 protected:
  TestResponse balance_at(const std::string& admin, const std::string& as_of) const {
    return http_get(url("/api/v1/admin/accounts/frank/balance?as_of=" + as_of), bearer(admin));
  }
  void expect_balance(const std::string& admin, int64_t instant_us, const Expected& expected,
                      const char* label) const {
    const TestResponse response = balance_at(admin, ledger::format_rfc3339(instant_us));
    ASSERT_EQ(response.status, 200) << label << ": " << response.body;
    const auto body = parse_json(response.body);
    EXPECT_EQ(int_field(body, "credits_available"), expected.available) << label;
    EXPECT_EQ(int_field(body, "credits_reserved"), expected.reserved) << label;
    EXPECT_EQ(int_field(body, "credits_granted"), expected.granted) << label;
    EXPECT_EQ(int_field(body, "credits_spent"), expected.spent) << label;
    EXPECT_EQ(ledger::parse_rfc3339(string_field(body, "as_of")), instant_us) << label;
  }
};

TEST_F(HttpAsOfTest, BalanceAtPastInstantsMatchesHandComputation) {
  const std::string admin = create_key("auditor", {"admin"});
  const std::string frank = token("frank");
  const int64_t t0 = pause_and_mark();
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(frank)).status, 200);  // +300 granted
  const int64_t t1 = pause_and_mark();
  ASSERT_EQ(grant(admin, "frank", 200).status, 200);  // +200 granted
  const int64_t t2 = pause_and_mark();
  const TestResponse reserved = reserve(frank, 120);  // 120 reserved
  ASSERT_EQ(reserved.status, 201);
  const int64_t t3 = pause_and_mark();
  ASSERT_EQ(capture(frank, string_field(parse_json(reserved.body), "reservation_id"), 70).status,
            200);
  const int64_t t4 = pause_and_mark();  // 70 spent, 50 back
  ASSERT_EQ(reserve(frank, 30).status, 201);
  const int64_t t5 = pause_and_mark();

  const TestResponse before = balance_at(admin, ledger::format_rfc3339(t0));
  EXPECT_EQ(before.status, 404);
  EXPECT_EQ(before.body, R"({"error":"account_not_found"})");
  expect_balance(admin, t1, {300, 0, 300, 0}, "t1: opened");
  expect_balance(admin, t2, {500, 0, 500, 0}, "t2: granted");
  expect_balance(admin, t3, {380, 120, 500, 0}, "t3: reserved");
  expect_balance(admin, t4, {430, 0, 500, 70}, "t4: captured");
  expect_balance(admin, t5, {400, 30, 500, 70}, "t5: reserved again");

  // The same instant written with another offset (percent-encoded '+') is the same instant.
  const std::string utc = ledger::format_rfc3339(t3);  // ...THH:MM:SS.ffffffZ
  const int hour = std::stoi(utc.substr(11, 2));
  const std::string shifted = utc.substr(0, 11) + (hour + 2 < 10 ? "0" : "") +
                              std::to_string((hour + 2) % 24) + utc.substr(13, 13) + "%2B02:00";
  if (hour < 22) {
    const TestResponse offset = balance_at(admin, shifted);
    ASSERT_EQ(offset.status, 200) << shifted << " " << offset.body;
    EXPECT_EQ(int_field(parse_json(offset.body), "credits_reserved"), 120);
  }
  // An event's own recorded_at includes that event (as_of is inclusive).
  const auto events = stored_events("frank");
  ASSERT_EQ(events.size(), 6u);
  expect_balance(admin, events[2].recorded_at_us, {500, 0, 500, 0}, "at the grant");
  expect_balance(admin, events[2].recorded_at_us - 1, {300, 0, 300, 0}, "just before the grant");
}

}  // namespace
}  // namespace http_tests
