// Every route of issue 3 over loopback against the real ledgerd: success bodies with their
// exact fields, and each route's error paths with status and error code.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "audit/verify.h"
#include "auth/jwt.h"
#include "http/service.h"
#include "ledger/commands.h"
#include "ledger/time_format.h"
#include "tests/http/ledgerd_fixture.h"
#include "tests/support/ledgerd_process.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::http_post;
using testing_support::http_request;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class HttpRoutesTest : public LedgerdTest {
 protected:
  // The open-reservation gauge is read by the database probe: at every probe round (1 s).
  std::vector<std::string> ledgerd_flags() const override {
    std::vector<std::string> flags = LedgerdTest::ledgerd_flags();
    flags.push_back("--metrics_refresh_ms=1000");
    return flags;
  }
};

TEST_F(HttpRoutesTest, HealthAnswersOkAndRejectsOtherMethods) {
  const TestResponse health = http_get(url("/api/v1/health"), {});
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  EXPECT_EQ(health.header("content-type"), "application/json");
  EXPECT_FALSE(health.header("x-request-id").empty());
  const TestResponse post = http_post(url("/api/v1/health"), {}, "");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.body, R"({"error":"method_not_allowed"})");
  EXPECT_EQ(post.header("allow"), "GET");
}

TEST_F(HttpRoutesTest, UnknownRoutesAreJson404) {
  for (const char* path : {"/", "/api/v1/nope", "/api/v1/credits/", "/api/v1//credits",
                           "/api/v1/credits/reservations/x/y/capture"}) {
    const TestResponse response = http_get(url(path), {});
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_EQ(response.body, R"({"error":"not_found"})") << path;
  }
  const TestResponse put = http_request("PUT", url("/api/v1/credits/reservations"), {}, "{}");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.header("allow"), "POST");
}

TEST_F(HttpRoutesTest, CreditsOpensAnUnknownAccountOnce) {
  const std::string alice = token("alice");
  const TestResponse first = http_get(url("/api/v1/credits"), bearer(alice));
  ASSERT_EQ(first.status, 200) << first.body;
  const auto view = parse_json(first.body);
  EXPECT_EQ(string_field(view, "account_id"), "alice");
  EXPECT_EQ(string_field(view, "plan"), "free");
  EXPECT_EQ(int_field(view, "credits_available"), 300);
  EXPECT_EQ(int_field(view, "credits_reserved"), 0);
  ASSERT_EQ(view["buckets"].Size(), 1u);  // the free allowance, for a month
  EXPECT_EQ(std::string(view["buckets"][0]["source"].GetString()), "plan_allowance");
  EXPECT_EQ(int_field(view, "next_expiry_credits"), 300);
  EXPECT_EQ(event_count("alice"), 2);  // AccountOpened, CreditsGranted
  const TestResponse second = http_get(url("/api/v1/credits"), bearer(alice));
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(event_count("alice"), 2);
  const std::string service_key = create_key("checkout", {"reserve"});
  EXPECT_EQ(http_get(url("/api/v1/credits"), bearer(service_key)).status, 403);
}

TEST_F(HttpRoutesTest, ReserveReturnsTheContractFields) {
  const std::string alice = token("alice");
  const int64_t before_us = now_us();
  const TestResponse created = reserve(alice, 100);
  ASSERT_EQ(created.status, 201) << created.body;
  const auto body = parse_json(created.body);
  EXPECT_EQ(string_field(body, "reservation_id").rfind("res_", 0), 0u);
  EXPECT_EQ(string_field(body, "reservation_id").size(), 4u + 36u);
  EXPECT_EQ(int_field(body, "amount"), 100);
  EXPECT_EQ(int_field(body, "credits_available"), 200);
  const auto expires_at_us = ledger::parse_rfc3339(string_field(body, "expires_at"));
  ASSERT_TRUE(expires_at_us.has_value());
  EXPECT_EQ(string_field(body, "expires_at").back(), 'Z');
  EXPECT_GE(*expires_at_us, before_us + 600'000'000 - 5'000'000);
  EXPECT_LE(*expires_at_us, now_us() + 600'000'000 + 5'000'000);

  const TestResponse short_lived = reserve(alice, 10, R"(,"ttl_seconds":60)");
  ASSERT_EQ(short_lived.status, 201);
  const auto short_expiry =
      ledger::parse_rfc3339(string_field(parse_json(short_lived.body), "expires_at"));
  EXPECT_LE(*short_expiry, now_us() + 61'000'000);
  EXPECT_EQ(balance_row("alice")->credits_reserved, 110);
  expect_consistent("alice");
}

// A body above LedgerService::kNonBlockingBodyBytesMax sends a user's reservation through
// the worker pool instead of the reactor thread: the same reply, the same effect.
TEST_F(HttpRoutesTest, AReservationWithALargeBodyIsAnsweredAlike) {
  const std::string alice = token("alice");
  const std::string padding(http::LedgerService::kNonBlockingBodyBytesMax, ' ');
  const TestResponse created = reserve(alice, 100, "," + padding + R"("ttl_seconds":60)");
  ASSERT_EQ(created.status, 201) << created.body;
  const auto body = parse_json(created.body);
  EXPECT_EQ(int_field(body, "amount"), 100);
  EXPECT_EQ(int_field(body, "credits_available"), 200);
  const TestResponse refused = reserve(alice, 0, "," + padding);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(balance_row("alice")->credits_reserved, 100);
  expect_consistent("alice");
}

TEST_F(HttpRoutesTest, CaptureAndReleaseSettleExactlyOnce) {
  const std::string alice = token("alice");
  const std::string first_id = string_field(parse_json(reserve(alice, 100).body), "reservation_id");
  const TestResponse captured = capture(alice, first_id, 40);
  ASSERT_EQ(captured.status, 200) << captured.body;
  EXPECT_EQ(captured.body,
            R"({"reservation_id":")" + first_id +
                R"(","credits_used":40,"credits_released":60,"credits_remaining":260})");
  const TestResponse again = capture(alice, first_id, 10);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body, R"({"error":"reservation_settled","reservation_status":"captured"})");
  const TestResponse release_captured =
      http_post(url("/api/v1/credits/reservations/" + first_id + "/release"),
                with_key(bearer(alice), fresh_key()), "");
  EXPECT_EQ(release_captured.status, 409);
  EXPECT_EQ(error_code(release_captured), "reservation_settled");

  const std::string second_id = string_field(parse_json(reserve(alice, 50).body), "reservation_id");
  const TestResponse released =
      http_post(url("/api/v1/credits/reservations/" + second_id + "/release"),
                with_key(bearer(alice), fresh_key()), "");
  ASSERT_EQ(released.status, 200) << released.body;
  EXPECT_EQ(released.body, R"({"reservation_id":")" + second_id +
                               R"(","credits_released":50,"credits_remaining":260})");
  const TestResponse released_twice =
      http_post(url("/api/v1/credits/reservations/" + second_id + "/release"),
                with_key(bearer(alice), fresh_key()), "{}");
  EXPECT_EQ(released_twice.body,
            R"({"error":"reservation_settled","reservation_status":"released"})");
  expect_consistent("alice");
}

TEST_F(HttpRoutesTest, ReservationErrorsHaveTheirCodes) {
  const std::string alice = token("alice");
  const TestResponse too_much = reserve(alice, 301);
  EXPECT_EQ(too_much.status, 402);
  EXPECT_EQ(too_much.body,
            R"({"error":"insufficient_credits","credits_needed":301,"credits_available":300})");
  const std::string id = string_field(parse_json(reserve(alice, 30).body), "reservation_id");
  const TestResponse over = capture(alice, id, 31);
  EXPECT_EQ(over.status, 409);
  EXPECT_EQ(over.body, R"({"error":"capture_exceeds_reservation","reservation_amount":30})");
  const TestResponse unknown = capture(alice, "res_00000000-0000-4000-8000-000000000000", 1);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, R"({"error":"reservation_not_found"})");
  // Reservations belong to their account: bob cannot see alice's.
  EXPECT_EQ(capture(token("bob"), id, 1).status, 404);
  EXPECT_EQ(balance_row("alice")->credits_reserved, 30);
}

TEST_F(HttpRoutesTest, ServiceKeyNamesTheAccount) {
  const std::string service_key = create_key("checkout", {"reserve", "open_accounts"});
  const TestResponse missing = reserve(service_key, 10);
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(error_code(missing), "invalid_request");
  EXPECT_EQ(string_field(parse_json(missing.body), "field"), "account_id");
  const TestResponse created = reserve(service_key, 10, R"(,"account_id":"bob")");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = string_field(parse_json(created.body), "reservation_id");
  EXPECT_EQ(capture(service_key, id, 4, R"(,"account_id":"bob")").status, 200);
  EXPECT_EQ(balance_row("bob")->credits_spent, 4);
  const auto events = stored_events("bob");
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back().metadata.find("service:checkout"), std::string::npos)
      << events.back().metadata;
  EXPECT_NE(events.back().metadata.find("\"http\""), std::string::npos);
}

TEST_F(HttpRoutesTest, AdminGrantsAndRefunds) {
  const std::string admin = create_key("ops", {"admin"});
  const TestResponse granted = grant(admin, "carol", 500);
  ASSERT_EQ(granted.status, 200) << granted.body;
  const auto body = parse_json(granted.body);
  EXPECT_EQ(string_field(body, "account_id"), "carol");
  EXPECT_EQ(int_field(body, "amount"), 500);
  EXPECT_EQ(int_field(body, "credits_available"), 800);  // opened with 300, then +500
  EXPECT_EQ(int_field(body, "credits_reserved"), 0);

  const std::string refund_path = "/api/v1/admin/accounts/carol/refunds";
  const std::string refund_body = R"({"amount":50,"reason":"goodwill","reference":"ticket-1"})";
  const TestResponse too_early =
      http_post(url(refund_path), with_key(bearer(admin), fresh_key()), refund_body);
  EXPECT_EQ(too_early.status, 409);
  EXPECT_EQ(too_early.body, R"({"error":"refund_exceeds_spent"})");
  const std::string carol = token("carol");
  const std::string id = string_field(parse_json(reserve(carol, 100).body), "reservation_id");
  ASSERT_EQ(capture(carol, id, 100).status, 200);
  const TestResponse refunded =
      http_post(url(refund_path), with_key(bearer(admin), fresh_key()), refund_body);
  ASSERT_EQ(refunded.status, 200) << refunded.body;
  EXPECT_EQ(int_field(parse_json(refunded.body), "credits_available"), 750);
  // The same reference under another Idempotency-Key refunds nothing more.
  const TestResponse twice =
      http_post(url(refund_path), with_key(bearer(admin), fresh_key()), refund_body);
  EXPECT_EQ(twice.status, 409);
  EXPECT_EQ(twice.body, R"({"error":"refund_reference_used"})");
  const TestResponse unknown = http_post(url("/api/v1/admin/accounts/nobody/refunds"),
                                         with_key(bearer(admin), fresh_key()), refund_body);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, R"({"error":"account_not_found"})");
  const TestResponse no_reason = http_post(url("/api/v1/admin/accounts/carol/grants"),
                                           with_key(bearer(admin), fresh_key()), R"({"amount":5})");
  EXPECT_EQ(no_reason.status, 400);
  EXPECT_EQ(error_code(no_reason), "invalid_request");
  expect_consistent("carol");
}

TEST_F(HttpRoutesTest, SettlementsAndRefundsWithoutAKeyAreIdempotentByWhatTheyAsk) {
  const std::string dave = token("dave");
  const auto settle = [&](const std::string& id, const std::string& action,
                          const std::string& body) {
    return http_post(url("/api/v1/credits/reservations/" + id + "/" + action), bearer(dave), body);
  };
  // A capture without Idempotency-Key: sent twice, one capture and the first answer twice.
  const std::string first = string_field(parse_json(reserve(dave, 100).body), "reservation_id");
  const int64_t events_reserved = event_count("dave");
  const TestResponse captured = settle(first, "capture", R"({"amount":30})");
  ASSERT_EQ(captured.status, 200) << captured.body;
  const TestResponse again = settle(first, "capture", R"({"amount":30})");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, captured.body);
  EXPECT_EQ(event_count("dave"), events_reserved + 1);
  // Another amount is another command: the reservation has settled.
  const TestResponse other = settle(first, "capture", R"({"amount":20})");
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(other.body, R"({"error":"reservation_settled","reservation_status":"captured"})");

  // A refused capture does not bind the reservation's later, valid capture.
  const std::string second = string_field(parse_json(reserve(dave, 10).body), "reservation_id");
  const TestResponse too_much = settle(second, "capture", R"({"amount":11})");
  EXPECT_EQ(too_much.status, 409);
  EXPECT_EQ(error_code(too_much), "capture_exceeds_reservation");
  EXPECT_EQ(settle(second, "capture", R"({"amount":10})").status, 200);

  // A release without a key, twice: released once.
  const std::string third = string_field(parse_json(reserve(dave, 40).body), "reservation_id");
  const TestResponse released = settle(third, "release", "");
  ASSERT_EQ(released.status, 200) << released.body;
  const int64_t events_released = event_count("dave");
  EXPECT_EQ(settle(third, "release", "").body, released.body);
  EXPECT_EQ(event_count("dave"), events_released);
  EXPECT_EQ(balance_row("dave")->credits_available, 300 - 30 - 10);

  // A refund without a key: the same refund twice refunds once; the reference with other
  // terms is refund_reference_used. A grant still needs its key.
  const std::string admin = create_key("ops", {"admin"});
  const std::string refunds = url("/api/v1/admin/accounts/dave/refunds");
  const std::string refund = R"({"amount":25,"reason":"goodwill","reference":"ticket-9"})";
  const TestResponse refunded = http_post(refunds, bearer(admin), refund);
  ASSERT_EQ(refunded.status, 200) << refunded.body;
  const int64_t events_refunded = event_count("dave");
  const TestResponse refunded_again = http_post(refunds, bearer(admin), refund);
  EXPECT_EQ(refunded_again.status, 200);
  EXPECT_EQ(refunded_again.body, refunded.body);
  EXPECT_EQ(event_count("dave"), events_refunded);
  const TestResponse other_terms = http_post(
      refunds, bearer(admin), R"({"amount":5,"reason":"goodwill","reference":"ticket-9"})");
  EXPECT_EQ(other_terms.status, 409);
  EXPECT_EQ(other_terms.body, R"({"error":"refund_reference_used"})");
  EXPECT_EQ(balance_row("dave")->credits_available, 300 - 30 - 10 + 25);
  // A refund refused for want of spending is decided again when sent again: its refusal is
  // not kept under the key the request makes (record_refusals).
  const std::string early = R"({"amount":100,"reason":"early","reference":"ticket-10"})";
  const TestResponse refused = http_post(refunds, bearer(admin), early);
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(refused.body, R"({"error":"refund_exceeds_spent"})");
  const std::string fourth = string_field(parse_json(reserve(dave, 90).body), "reservation_id");
  ASSERT_EQ(settle(fourth, "capture", R"({"amount":90})").status, 200);
  const TestResponse later = http_post(refunds, bearer(admin), early);
  EXPECT_EQ(later.status, 200) << later.body;
  EXPECT_TRUE(later.header("idempotent-replayed").empty());
  EXPECT_EQ(balance_row("dave")->credits_available, 300 - 30 - 10 + 25 - 90 + 100);
  const TestResponse keyless_grant = http_post(url("/api/v1/admin/accounts/dave/grants"),
                                               bearer(admin), R"({"amount":5,"reason":"x"})");
  EXPECT_EQ(keyless_grant.status, 400);
  EXPECT_EQ(keyless_grant.body, R"({"error":"idempotency_key_required"})");
  expect_consistent("dave");
}

TEST_F(HttpRoutesTest, AdminGrantsOpenBucketsThatCreditsShowsInBurnDownOrder) {
  const std::string admin = create_key("ops", {"admin"});
  const std::string path = "/api/v1/admin/accounts/erin/grants";
  const int64_t tomorrow_s = ledger::unix_now_us() / 1'000'000 + 86'400;
  const std::string tomorrow = ledger::format_rfc3339(tomorrow_s * 1'000'000);
  const TestResponse promo =
      http_post(url(path), with_key(bearer(admin), fresh_key()),
                R"({"amount":100,"reason":"launch","source":"promotional","expires_at":")" +
                    tomorrow + R"(","priority":10})");
  ASSERT_EQ(promo.status, 200) << promo.body;
  EXPECT_EQ(string_field(parse_json(promo.body), "bucket_id"), "b2");  // b1: the free allowance
  const TestResponse plain = grant(admin, "erin", 50);
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(string_field(parse_json(plain.body), "bucket_id"), "b3");

  const std::string erin = token("erin");
  const auto credits = [&] {
    const TestResponse response = http_get(url("/api/v1/credits"), bearer(erin));
    EXPECT_EQ(response.status, 200) << response.body;
    return parse_json(response.body);
  };
  auto view = credits();
  EXPECT_EQ(int_field(view, "credits_available"), 450);
  ASSERT_TRUE(view["buckets"].IsArray());
  ASSERT_EQ(view["buckets"].Size(), 3u);
  const auto& first = view["buckets"][0];
  EXPECT_EQ(std::string(first["id"].GetString()), "b2") << "the earliest expiry is spent first";
  EXPECT_EQ(std::string(first["source"].GetString()), "promotional");
  EXPECT_EQ(first["remaining"].GetInt64(), 100);
  EXPECT_EQ(ledger::parse_rfc3339(first["expires_at"].GetString()), tomorrow_s * 1'000'000);
  EXPECT_EQ(first["priority"].GetInt64(), 10);
  EXPECT_EQ(std::string(view["buckets"][1]["source"].GetString()), "plan_allowance");
  EXPECT_EQ(view["buckets"][1]["remaining"].GetInt64(), 300);
  EXPECT_EQ(std::string(view["buckets"][2]["source"].GetString()), "admin");
  EXPECT_TRUE(view["buckets"][2]["expires_at"].IsNull()) << "never expires";
  EXPECT_EQ(ledger::parse_rfc3339(view["next_expiry"].GetString()), tomorrow_s * 1'000'000);
  EXPECT_EQ(int_field(view, "next_expiry_credits"), 100);

  // Terms the ledger cannot honour are refused before anything is written.
  const int64_t events_before = event_count("erin");
  const std::string yesterday = ledger::format_rfc3339((tomorrow_s - 2 * 86'400) * 1'000'000);
  for (const std::string& body :
       {R"({"amount":5,"reason":"x","expires_at":")" + yesterday + R"("})",
        std::string(R"({"amount":5,"reason":"x","expires_at":"next week"})"),
        std::string(R"({"amount":5,"reason":"x","expires_at":12})"),
        std::string(R"({"amount":5,"reason":"x","priority":101})"),
        std::string(R"({"amount":5,"reason":"x","priority":-1})"),
        std::string(R"({"amount":5,"reason":"x","source":"pack"})"),
        std::string(R"({"amount":5,"reason":"x","bucket":"b1"})")}) {
    const TestResponse refused = http_post(url(path), with_key(bearer(admin), fresh_key()), body);
    EXPECT_EQ(refused.status, 400) << body << " -> " << refused.body;
    EXPECT_EQ(error_code(refused), "invalid_request") << body;
  }
  EXPECT_EQ(event_count("erin"), events_before);

  // Spending 120 empties the promotion and takes 20 from the allowance.
  const std::string id = string_field(parse_json(reserve(erin, 120).body), "reservation_id");
  ASSERT_EQ(capture(erin, id, 120).status, 200);
  view = credits();
  ASSERT_EQ(view["buckets"].Size(), 2u);
  EXPECT_EQ(std::string(view["buckets"][0]["source"].GetString()), "plan_allowance");
  EXPECT_EQ(view["buckets"][0]["remaining"].GetInt64(), 280);
  EXPECT_EQ(int_field(view, "next_expiry_credits"), 280);
  expect_consistent("erin");
}

// A free account back after months away: its first GET /credits grants the month's
// allowance (once; the sweeper never refreshes a dormant account).
TEST_F(HttpRoutesTest, CreditsGivesAReturningFreeAccountItsMonthsAllowanceOnce) {
  const auto plans = std::get<ledger::PlanCatalog>(
      ledger::PlanCatalog::parse(testing_support::default_test_plans_json()));
  ledger::AccountState state = ledger::empty_account("returning");
  const int64_t opened_us = ledger::unix_now_us() - 100 * 86'400'000'000LL;
  const ledger::Decision opened = ledger::decide_and_apply(
      state, ledger::Command{"returning", "open", ledger::OpenAccount{}, {}}, opened_us, plans);
  auto pg = connect_ledger_database();
  testing_support::append_decided_events(*pg, state, opened.events, 1, opened_us);
  ASSERT_GT(audit::replay_projections(*pg), 0);

  const std::string returning = token("returning");
  const TestResponse first = http_get(url("/api/v1/credits"), bearer(returning));
  ASSERT_EQ(first.status, 200) << first.body;
  const auto view = parse_json(first.body);
  EXPECT_EQ(int_field(view, "credits_available"), 300);
  ASSERT_EQ(view["buckets"].Size(), 1u);
  const auto next = ledger::parse_rfc3339(view["next_expiry"].GetString());
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, ledger::unix_now_us()) << "this month's allowance";
  EXPECT_EQ(event_count("returning"), 4) << "opened, allowance, its expiry, the new month's";
  EXPECT_EQ(http_get(url("/api/v1/credits"), bearer(returning)).body, first.body);
  EXPECT_EQ(event_count("returning"), 4);
  expect_consistent("returning");
}

TEST_F(HttpRoutesTest, AdminEventsArePagedWithVersionsAndHashes) {
  const std::string admin = create_key("ops", {"admin"});
  for (int i = 0; i < 5; ++i) ASSERT_EQ(grant(admin, "dave", 10 + i).status, 200);
  const auto stored = stored_events("dave");
  ASSERT_EQ(stored.size(), 7u);  // opened, allowance, 5 grants
  const std::string base = "/api/v1/admin/accounts/dave/events";
  const TestResponse first = http_get(url(base + "?limit=3"), bearer(admin));
  ASSERT_EQ(first.status, 200) << first.body;
  const auto page = parse_json(first.body);
  ASSERT_TRUE(page["events"].IsArray());
  ASSERT_EQ(page["events"].Size(), 3u);
  EXPECT_EQ(int_field(page, "next_after_version"), 3);
  const auto& event = page["events"][0];
  EXPECT_EQ(event["stream_version"].GetInt64(), 1);
  EXPECT_EQ(event["global_position"].GetInt64(), stored[0].global_position);
  EXPECT_EQ(std::string(event["event_id"].GetString()), stored[0].event_id);
  EXPECT_EQ(std::string(event["type"].GetString()), "AccountOpened");
  EXPECT_TRUE(event["payload"].IsObject());
  EXPECT_TRUE(event["metadata"].IsObject());
  EXPECT_EQ(ledger::parse_rfc3339(event["recorded_at"].GetString()), stored[0].recorded_at_us);
  EXPECT_EQ(std::string(event["hash"].GetString()).size(), 64u);
  const auto second =
      parse_json(http_get(url(base + "?after_version=3&limit=3"), bearer(admin)).body);
  ASSERT_EQ(second["events"].Size(), 3u);
  EXPECT_EQ(second["events"][0]["stream_version"].GetInt64(), 4);
  EXPECT_EQ(std::string(second["events"][2]["type"].GetString()), "CreditsGranted");
  EXPECT_EQ(second["events"][2]["payload"]["amount"].GetInt64(), 13);  // version 6: the 4th grant
  const auto last = parse_json(http_get(url(base + "?after_version=6"), bearer(admin)).body);
  ASSERT_EQ(last["events"].Size(), 1u);
  EXPECT_TRUE(last["next_after_version"].IsNull());
  for (const char* query : {"?limit=0", "?limit=501", "?after_version=-1", "?limit=abc"}) {
    const TestResponse bad = http_get(url(base + query), bearer(admin));
    EXPECT_EQ(bad.status, 400) << query;
    EXPECT_EQ(error_code(bad), "invalid_request") << query;
  }
  for (const char* query : {"", "?after_version=3"}) {
    const TestResponse none =
        http_get(url(std::string("/api/v1/admin/accounts/none/events") + query), bearer(admin));
    EXPECT_EQ(none.status, 404) << query;
    EXPECT_EQ(none.body, R"({"error":"account_not_found"})") << query;
  }
  const auto past_the_end = http_get(url(base + "?after_version=1000"), bearer(admin));
  EXPECT_EQ(past_the_end.status, 200);
  EXPECT_EQ(parse_json(past_the_end.body)["events"].Size(), 0u);
}

TEST_F(HttpRoutesTest, AdminBalanceFoldsTheEvents) {
  const std::string admin = create_key("ops", {"admin"});
  ASSERT_EQ(grant(admin, "erin", 700).status, 200);
  const std::string base = "/api/v1/admin/accounts/erin/balance";
  const TestResponse now = http_get(url(base), bearer(admin));
  ASSERT_EQ(now.status, 200) << now.body;
  const auto body = parse_json(now.body);
  EXPECT_EQ(int_field(body, "credits_available"), 1000);
  EXPECT_EQ(int_field(body, "credits_granted"), 1000);
  EXPECT_EQ(string_field(body, "plan"), "free");
  EXPECT_EQ(int_field(body, "version"), 3);
  const TestResponse bad = http_get(url(base + "?as_of=yesterday"), bearer(admin));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_code(bad), "invalid_timestamp");
  const TestResponse before = http_get(url(base + "?as_of=2001-01-01T00:00:00Z"), bearer(admin));
  EXPECT_EQ(before.status, 404);
  EXPECT_EQ(before.body, R"({"error":"account_not_found"})");
}

TEST_F(HttpRoutesTest, MetricsExposeRequestsBatchesAndGauges) {
  const std::string alice = token("alice");
  ASSERT_EQ(reserve(alice, 5).status, 201);
  ASSERT_EQ(reserve(alice, 500).status, 402);
  EXPECT_TRUE(testing_support::wait_for_metric(url("/metrics"), "ledger_open_reservations", 1,
                                               3'000));
  const TestResponse metrics = http_get(url("/metrics"), {});
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.header("content-type").rfind("text/plain", 0), 0u);
  const std::string& text = metrics.body;
  EXPECT_NE(
      text.find(
          R"(ledger_http_requests_total{method="POST",route="/api/v1/credits/reservations",status="201"} 1)"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"(ledger_http_requests_total{method="POST",route="/api/v1/credits/reservations",status="402"} 1)"),
      std::string::npos);
  EXPECT_NE(
      text.find(
          R"(ledger_http_request_duration_seconds_bucket{method="POST",route="/api/v1/credits/reservations",status="201",le="+Inf"} 1)"),
      std::string::npos);
  EXPECT_NE(text.find("ledger_committer_batch_size_count "), std::string::npos);
  EXPECT_EQ(text.find("ledger_committer_batch_size_count 0\n"), std::string::npos);
  EXPECT_NE(text.find("ledger_database_errors_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("ledger_worker_queue_depth 0\n"), std::string::npos);
}

TEST_F(HttpRoutesTest, BodyLimitFitsALongTextAndAnswers413Above) {
  const std::string alice = token("alice");
  // ~70 KB: a 10,000-word text must fit; JSON whitespace pads the body without new fields.
  const std::string padded = R"({"amount":1,"feature":"humanize")" + std::string(70'000, ' ') + "}";
  const TestResponse fits =
      http_post(url("/api/v1/credits/reservations"), with_key(bearer(alice), fresh_key()), padded);
  EXPECT_EQ(fits.status, 201) << fits.body;
  const std::string huge = R"({"amount":1,"feature":"humanize")" + std::string(300'000, ' ') + "}";
  const TestResponse too_big =
      http_post(url("/api/v1/credits/reservations"), with_key(bearer(alice), fresh_key()), huge);
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(too_big.body, R"({"error":"payload_too_large","max_bytes":262144})");
  EXPECT_EQ(http_get(url("/api/v1/health"), {}).status, 200);
}

TEST_F(HttpRoutesTest, EveryBodyAboveTheLimitGetsTheJson413AndChangesNothing) {
  const std::string alice = token("alice");
  ASSERT_EQ(reserve(alice, 1).status, 201);
  const int64_t events = event_count("alice");
  // Above twice the limit Pistache would answer a plain-text 413 of its own: the announced
  // length is answered before the body (HeadersStepRefusingLargeBodies).
  for (const std::size_t size : {300'000UL, 600'000UL, 1'000'000UL, 4'000'000UL}) {
    const std::string body = R"({"amount":1,"feature":"humanize")" + std::string(size, ' ') + "}";
    for (const std::string path : {"/api/v1/credits/reservations", "/api/v1/humanize"}) {
      const TestResponse answer = http_post(url(path), with_key(bearer(alice), fresh_key()), body);
      EXPECT_EQ(answer.status, 413) << path << " " << size << " " << answer.error;
      EXPECT_EQ(answer.header("content-type"), "application/json") << path << " " << size;
      EXPECT_EQ(answer.body, R"({"error":"payload_too_large","max_bytes":262144})")
          << path << " " << size;
    }
  }
  EXPECT_EQ(event_count("alice"), events);
  EXPECT_EQ(reserve(alice, 1).status, 201);  // the service goes on
  expect_consistent("alice");
}

TEST_F(HttpRoutesTest, AnAnnouncedBodyAboveTheLimitIsAnsweredBeforeItIsSentAndTheConnectionEnds) {
  const std::string alice = token("alice");
  const std::string head =
      "POST /api/v1/credits/reservations HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer " +
      alice +
      "\r\nIdempotency-Key: big-1\r\n"
      "Content-Type: application/json\r\n";
  ASSERT_EQ(http_get(url("/api/v1/health"), {}).status, 200);  // this thread's connection
  ASSERT_TRUE(testing_support::wait_for_metric(url("/metrics"), "ledger_open_connections", 1));
  // Bodies above the limit within what Pistache buffers (the request completes and is
  // ignored), and above that (Pistache's own refusal goes nowhere).
  for (const std::size_t length : {300'000UL, 1'000'000UL}) {
    testing_support::RawConnection connection(ledgerd_->port());
    ASSERT_TRUE(connection.connected());
    // The headers alone: the answer comes without the body.
    ASSERT_TRUE(connection.send(head + "Content-Length: " + std::to_string(length) + "\r\n\r\n"));
    const std::string answer = connection.receive(5'000, false);
    EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;
    EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
    EXPECT_NE(answer.find("X-Request-Id: "), std::string::npos) << answer;
    EXPECT_NE(answer.find("\r\n\r\n{\"error\":\"payload_too_large\",\"max_bytes\":262144}"),
              std::string::npos)
        << answer;
    EXPECT_TRUE(connection.closed_by_server()) << "the answer ends the server's side";
    // The body it announced, sent anyway, is read and dropped.
    for (std::size_t sent = 0; sent < length; sent += 100'000) {
      connection.send(std::string(std::min<std::size_t>(100'000, length - sent), ' '));
    }
    if (length == 300'000) {
      // Once the body is in, ledgerd closes the connection, though the client keeps it.
      EXPECT_TRUE(testing_support::wait_for_metric(url("/metrics"), "ledger_open_connections", 1))
          << "the refused connection is closed";
    }
  }
  EXPECT_EQ(event_count("alice"), 0) << "the refused reservation opened nothing";
  // Counted as every answered request is: both refusals, under their route.
  const std::optional<double> counted = testing_support::metric_sample(
      http_get(url("/metrics"), {}).body,
      R"(ledger_http_requests_total{method="POST",route="/api/v1/credits/reservations",status="413"})");
  ASSERT_TRUE(counted.has_value());
  EXPECT_EQ(*counted, 2.0);
  // A body of exactly the limit is read and handled.
  std::string exact = R"({"amount":1,"feature":"humanize"})";
  exact.insert(exact.size() - 1, std::string(262'144 - exact.size(), ' '));
  ASSERT_EQ(exact.size(), 262'144u);
  const TestResponse at_limit =
      http_post(url("/api/v1/credits/reservations"), with_key(bearer(alice), fresh_key()), exact);
  EXPECT_EQ(at_limit.status, 201) << at_limit.body;
  EXPECT_EQ(balance_row("alice")->credits_reserved, 1);
}

TEST_F(HttpRoutesTest, RequestLogLinesCarryNoCredentials) {
  const std::string alice = token("alice");
  const std::string admin = create_key("ops", {"admin"});
  ASSERT_EQ(reserve(alice, 5).status, 201);
  ASSERT_EQ(grant(admin, "alice", 5).status, 200);
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(token("mallory") + "x")).status, 401);
  const std::string log = ledgerd_->wait_for_log("status=401");
  EXPECT_NE(log.find("method=POST route=/api/v1/credits/reservations status=201"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("account=alice"), std::string::npos);
  EXPECT_NE(log.find("latency_ms="), std::string::npos);
  EXPECT_EQ(log.find(alice), std::string::npos);
  EXPECT_EQ(log.find(admin), std::string::npos);
  EXPECT_EQ(log.find(admin.substr(20)), std::string::npos);  // not even the secret part
  EXPECT_EQ(log.find(secret_), std::string::npos);
}

class HttpExpiryTest : public LedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--sweep_interval_ms=0"};
  }
};

TEST_F(HttpExpiryTest, LateCaptureIsReservationExpired) {
  const std::string alice = token("alice");
  const std::string id =
      string_field(parse_json(reserve(alice, 10, R"(,"ttl_seconds":1)").body), "reservation_id");
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));
  const TestResponse late = capture(alice, id, 5);
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(late.body, R"({"error":"reservation_expired"})");
}

class HttpSweeperTest : public LedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--sweep_interval_ms=100"};
  }
};

TEST_F(HttpSweeperTest, SweptReservationIsExpiredToACaptureAndSettledToARelease) {
  const std::string alice = token("alice");
  const std::string id =
      string_field(parse_json(reserve(alice, 10, R"(,"ttl_seconds":1)").body), "reservation_id");
  for (int i = 0; i < 50 && balance_row("alice")->credits_reserved != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // bounded: 5 s
  }
  ASSERT_EQ(balance_row("alice")->credits_reserved, 0) << "the sweeper expired nothing";
  // The same answer as before the sweeper's event (HttpExpiryTest.LateCaptureIsReservationExpired).
  const TestResponse late = capture(alice, id, 5);
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(late.body, R"({"error":"reservation_expired"})");
  const TestResponse release = http_post(url("/api/v1/credits/reservations/" + id + "/release"),
                                         with_key(bearer(alice), "late-release"), "");
  EXPECT_EQ(release.status, 409);
  EXPECT_EQ(release.body, R"({"error":"reservation_settled","reservation_status":"expired"})");
  EXPECT_EQ(balance_row("alice")->credits_available, 300);
}

class HttpStartupTest : public ::testing::Test {
 protected:
  testing_support::TestDatabase database_;
};

TEST_F(HttpStartupTest, BrokenPlansFileStopsStartWithAClearMessage) {
  char path[] = "/tmp/ledgerd-plans-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "{\"plans\": [", 11), 11);
  close(fd);
  testing_support::LedgerdOptions options;
  options.database_url = database_.url();
  options.plans_path = path;
  try {
    testing_support::LedgerdProcess process(options);
    ADD_FAILURE() << "ledgerd started with a broken plans file";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("cannot load plans"), std::string::npos)
        << error.what();
    EXPECT_EQ(std::string(error.what()).find("exited with 0"), std::string::npos);
  }
  std::remove(path);
}

TEST_F(HttpStartupTest, MissingSecretStopsStart) {
  testing_support::LedgerdOptions options;
  options.database_url = database_.url();
  options.jwt_secret = "";
  try {
    testing_support::LedgerdProcess process(options);
    ADD_FAILURE() << "ledgerd started without a JWT secret";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("LEDGER_JWT_SECRET"), std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("exited with 2"), std::string::npos) << error.what();
  }
}

TEST_F(HttpStartupTest, SecretShorterThan32BytesStopsStart) {
  testing_support::LedgerdOptions options;
  options.database_url = database_.url();
  options.jwt_secret = std::string(31, 's');
  const std::string message = testing_support::start_failure(options);
  EXPECT_NE(message.find("exited with 2"), std::string::npos) << message;
  EXPECT_NE(message.find("LEDGER_JWT_SECRET (--jwt_secret) is 31 bytes; it must be at least 32"),
            std::string::npos)
      << message;
  options.jwt_secret = std::string(32, 's');
  testing_support::LedgerdProcess process(options);
  EXPECT_EQ(process.stop(SIGTERM, std::chrono::seconds(10)), 0);
}

// An IPv4 address of this machine other than loopback, or "" when it has none.
std::string non_loopback_ipv4() {
  ifaddrs* interfaces = nullptr;
  if (::getifaddrs(&interfaces) != 0) return "";
  std::string found;
  for (const ifaddrs* entry = interfaces; entry != nullptr && found.empty(); entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET ||
        (entry->ifa_flags & IFF_LOOPBACK) != 0 || (entry->ifa_flags & IFF_UP) == 0) {
      continue;
    }
    char text[INET_ADDRSTRLEN] = {};
    const auto* address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    if (::inet_ntop(AF_INET, &address->sin_addr, text, sizeof text) != nullptr) found = text;
  }
  ::freeifaddrs(interfaces);
  return found;
}

TEST_F(HttpStartupTest, ListensOnLoopbackOnlyWithoutAddressFlag) {
  testing_support::LedgerdOptions options;
  options.database_url = database_.url();
  options.address = "";
  testing_support::LedgerdProcess process(options);
  const std::string listening = "ledgerd listening on 127.0.0.1:" + std::to_string(process.port());
  EXPECT_NE(process.wait_for_log(listening).find(listening), std::string::npos)
      << process.log_text();
  if (const std::string other = non_loopback_ipv4(); !other.empty()) {
    const TestResponse refused = http_get(
        "http://" + other + ":" + std::to_string(process.port()) + "/api/v1/health", {}, 2000);
    EXPECT_EQ(refused.status, 0) << "reachable on " << other;
  }
  EXPECT_EQ(process.stop(SIGTERM, std::chrono::seconds(10)), 0);
}

TEST_F(HttpStartupTest, FlagsWinOverTheEnvironmentWhichWinsOverDefaults) {
  testing_support::LedgerdOptions options;
  options.database_url = database_.url();
  // The harness passes --port; LEDGER_PORT must lose. The rate limit comes from the
  // environment only (defaults: 50/s, burst 100).
  options.env = {
      {"LEDGER_PORT", "1"}, {"LEDGER_RATE_LIMIT_PER_S", "0.5"}, {"LEDGER_RATE_LIMIT_BURST", "1"}};
  testing_support::LedgerdProcess process(options);
  const testing_support::TestHeaders auth = {
      {"Authorization", "Bearer " + auth::issue_dev_token(options.jwt_secret, "alice", 60)}};
  EXPECT_EQ(http_get(process.base_url() + "/api/v1/credits", auth).status, 200);
  const TestResponse limited = http_get(process.base_url() + "/api/v1/credits", auth);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body, R"({"error":"rate_limit_exceeded","retry_after":2})");
  EXPECT_EQ(process.stop(SIGTERM, std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace http_tests
