// Unit tests of the http library's pure parts: JWT verification, the route table and its
// bulkheads, request body rules, identifiers, the rejection mapping, the rate limiter (and
// its read-only check), the per-account concurrency cap, the client address, the health
// rule of the database probe and the worker pool.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "auth/api_keys.h"
#include "auth/identifiers.h"
#include "auth/jwt.h"
#include "crypto/digest.h"
#include "http/client_address.h"
#include "http/concurrency_limiter.h"
#include "http/database_probe.h"
#include "http/outcome_reply.h"
#include "http/rate_limiter.h"
#include "http/read_connection.h"
#include "http/request_body.h"
#include "http/route_table.h"
#include "http/server.h"
#include "http/service.h"
#include "http/worker_pool.h"
#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret = "unit-secret";

std::string payload(const std::string& sub, int64_t exp, const std::string& extra = "") {
  return R"({"sub":")" + sub + R"(","exp":)" + std::to_string(exp) + extra + "}";
}

auth::JwtError jwt_error(const std::string& token) {
  const auto result = auth::verify_jwt(token, kSecret, kNow, 30);
  EXPECT_TRUE(std::holds_alternative<auth::JwtError>(result)) << token;
  return std::holds_alternative<auth::JwtError>(result) ? std::get<auth::JwtError>(result)
                                                        : auth::JwtError::kMalformed;
}

TEST(HttpJwtTest, AcceptsAValidTokenAndReadsClaims) {
  const std::string token = auth::sign_jwt_hs256(kSecret, R"({"alg":"HS256"})",
                                                 payload("alice", kNow + 60, R"(,"nbf":1)"));
  const auto result = auth::verify_jwt(token, kSecret, kNow, 30);
  ASSERT_TRUE(std::holds_alternative<auth::JwtClaims>(result));
  EXPECT_EQ(std::get<auth::JwtClaims>(result).subject, "alice");
  EXPECT_EQ(std::get<auth::JwtClaims>(result).expires_at_s, kNow + 60);
  EXPECT_EQ(std::get<auth::JwtClaims>(result).not_before_s, 1);
}

TEST(HttpJwtTest, RefusesEachKindOfBadToken) {
  using auth::JwtError;
  const auto sign = [](const std::string& header, const std::string& body) {
    return auth::sign_jwt_hs256(kSecret, header, body);
  };
  EXPECT_EQ(jwt_error(""), auth::JwtError::kMalformed);
  EXPECT_EQ(jwt_error("a.b"), auth::JwtError::kMalformed);
  EXPECT_EQ(jwt_error("a.b.c.d"), auth::JwtError::kMalformed);
  EXPECT_EQ(jwt_error(std::string(5000, 'a')), auth::JwtError::kMalformed);
  EXPECT_EQ(jwt_error(sign("[]", payload("a", kNow + 60))), auth::JwtError::kMalformed);
  EXPECT_EQ(jwt_error(sign(R"({"alg":"none"})", payload("a", kNow + 60))),
            auth::JwtError::kUnsupportedAlgorithm);
  EXPECT_EQ(jwt_error(sign(R"({"alg":"HS512"})", payload("a", kNow + 60))),
            auth::JwtError::kUnsupportedAlgorithm);
  EXPECT_EQ(jwt_error(sign(R"({"typ":"JWT"})", payload("a", kNow + 60))),
            auth::JwtError::kUnsupportedAlgorithm);
  EXPECT_EQ(jwt_error(sign(R"({"alg":"HS256","crit":["x"]})", payload("a", kNow + 60))),
            auth::JwtError::kUnsupportedAlgorithm);
  EXPECT_EQ(jwt_error(auth::sign_jwt_hs256("other", R"({"alg":"HS256"})", payload("a", kNow + 60))),
            auth::JwtError::kBadSignature);
  EXPECT_EQ(jwt_error(sign(R"({"alg":"HS256"})", payload("a", kNow - 31))),
            auth::JwtError::kExpired);
  EXPECT_EQ(jwt_error(sign(R"({"alg":"HS256"})",
                           payload("a", kNow + 60, R"(,"nbf":)" + std::to_string(kNow + 31)))),
            auth::JwtError::kNotYetValid);
  EXPECT_EQ(jwt_error(sign(R"({"alg":"HS256"})", R"({"sub":"a"})")), auth::JwtError::kMissingClaim);
  EXPECT_EQ(jwt_error(sign(R"({"alg":"HS256"})", R"({"sub":7,"exp":1900000000})")),
            auth::JwtError::kMissingClaim);
  EXPECT_EQ(jwt_error(sign(R"({"alg":"HS256"})", payload("a/b", kNow + 60))),
            auth::JwtError::kInvalidSubject);
  const std::string good = sign(R"({"alg":"HS256"})", payload("a", kNow + 60));
  // Cut to 40 digits: a canonical 30-byte MAC, which does not match.
  EXPECT_EQ(jwt_error(good.substr(0, good.size() - 3)), auth::JwtError::kBadSignature);
}

// The 43-digit signature of an HS256 token carries 2 unused bits: only the spelling with
// them zero is the token; the three others are refused before the MAC is compared.
TEST(HttpJwtTest, OnlyTheCanonicalSpellingOfTheSignatureVerifies) {
  const std::string good =
      auth::sign_jwt_hs256(kSecret, R"({"alg":"HS256"})", payload("alice", kNow + 60));
  ASSERT_EQ(good.size() - good.rfind('.') - 1, 43u);
  ASSERT_TRUE(std::holds_alternative<auth::JwtClaims>(auth::verify_jwt(good, kSecret, kNow, 30)));
  const std::string tweaked = with_stray_last_bit(good);
  ASSERT_NE(tweaked, good);
  EXPECT_EQ(crypto::base64url_decode(good.substr(good.rfind('.') + 1)).value().size(), 32u);
  EXPECT_EQ(jwt_error(tweaked), auth::JwtError::kMalformed);
}

TEST(HttpJwtTest, LeewayIsInclusive) {
  const std::string at_edge =
      auth::sign_jwt_hs256(kSecret, R"({"alg":"HS256"})", payload("a", kNow - 30));
  EXPECT_TRUE(
      std::holds_alternative<auth::JwtClaims>(auth::verify_jwt(at_edge, kSecret, kNow, 30)));
  EXPECT_FALSE(
      std::holds_alternative<auth::JwtClaims>(auth::verify_jwt(at_edge, kSecret, kNow, 29)));
}

// Found by the jwt fuzz target: `exp + leeway` overflowed (undefined behaviour) for an
// `exp` near INT64_MAX, which wrapped to "expired" where it did not trap.
TEST(HttpJwtTest, ExpiryAtTheEdgesOfTheIntegerRange) {
  const auto verify = [](int64_t exp) {
    const std::string token =
        auth::sign_jwt_hs256(kSecret, R"({"alg":"HS256"})", payload("alice", exp));
    return auth::verify_jwt(token, kSecret, kNow, 30);
  };
  EXPECT_TRUE(std::holds_alternative<auth::JwtClaims>(verify(INT64_MAX)));
  EXPECT_TRUE(std::holds_alternative<auth::JwtClaims>(verify(INT64_MAX - 29)));
  EXPECT_EQ(std::get<auth::JwtError>(verify(INT64_MIN)), auth::JwtError::kExpired);
}

TEST(HttpJwtTest, DevTokensVerify) {
  const std::string token = auth::issue_dev_token(kSecret, "bob@example.com", 60);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto result = auth::verify_jwt(token, kSecret, now, 0);
  ASSERT_TRUE(std::holds_alternative<auth::JwtClaims>(result));
  EXPECT_EQ(std::get<auth::JwtClaims>(result).subject, "bob@example.com");
}

// Which requests a reactor thread may handle itself: the end-user write routes with a
// credential that needs no database (a JWT, or none: 401) and a small body.
TEST(HttpNonBlockingTest, OnlyWritesWithoutAnApiKeyOrALargeBodyRunOnTheReactor) {
  const auto request = [](const std::string& authorization, std::size_t body_bytes) {
    http::IncomingRequest incoming;
    incoming.authorization = authorization;
    incoming.body = std::string(body_bytes, ' ');
    return incoming;
  };
  const std::string jwt = "Bearer " + auth::issue_dev_token(kSecret, "bob", 60);
  const std::string api_key = "Bearer lk_0123456789abcdef_" + std::string(43, 'a');
  const auto reserve = http::match_route("POST", "/api/v1/credits/reservations");
  const auto capture = http::match_route("POST", "/api/v1/credits/reservations/res_1/capture");
  const auto release = http::match_route("POST", "/api/v1/credits/reservations/res_1/release");
  const std::size_t max = http::LedgerService::kNonBlockingBodyBytesMax;
  for (const auto& route : {reserve, capture, release}) {
    EXPECT_TRUE(http::LedgerService::handles_without_blocking(route, request(jwt, 40)));
    EXPECT_TRUE(http::LedgerService::handles_without_blocking(route, request(jwt, max)));
    EXPECT_TRUE(http::LedgerService::handles_without_blocking(route, request("", 40)));
    EXPECT_TRUE(http::LedgerService::handles_without_blocking(route, request("Basic x", 40)));
    EXPECT_FALSE(http::LedgerService::handles_without_blocking(route, request(api_key, 40)));
    EXPECT_FALSE(http::LedgerService::handles_without_blocking(
        route, request("bEaReR lk_0123456789abcdef_" + std::string(43, 'a'), 40)));
    EXPECT_FALSE(http::LedgerService::handles_without_blocking(route, request(jwt, max + 1)));
  }
  for (const auto& [method, path] : {std::pair{"GET", "/api/v1/credits"},
                                     {"POST", "/api/v1/humanize"},
                                     {"POST", "/api/v1/admin/accounts/a/grants"},
                                     {"POST", "/api/v1/admin/accounts/a/refunds"},
                                     {"GET", "/api/v1/credits/reservations"},
                                     {"POST", "/nowhere"}}) {
    EXPECT_FALSE(http::LedgerService::handles_without_blocking(http::match_route(method, path),
                                                               request(jwt, 40)))
        << method << " " << path;
  }
}

TEST(HttpNonBlockingDeathTest, ADatabaseReadOnAThreadThatMustNotBlockAborts) {
  EXPECT_DEATH(
      {
        const http::NonBlockingScope reactor_thread;
        http::thread_connection("postgresql://127.0.0.1:1/none");
      },
      "must not block");
}

// The drain waits for the responses counted before it began; one dispatched after (and so
// refused) is not counted, so steady traffic during the drain cannot keep the count above
// zero until the grace period runs out.
TEST(HttpResponsesInFlightTest, TheDrainWaitsOnlyForResponsesCountedBeforeIt) {
  using Clock = std::chrono::steady_clock;
  http::ResponsesInFlight responses;
  EXPECT_TRUE(responses.wait_none(Clock::now()));
  ASSERT_TRUE(responses.add());
  ASSERT_TRUE(responses.add());
  responses.close();
  EXPECT_FALSE(responses.add());  // after the drain began: not counted
  EXPECT_FALSE(responses.wait_none(Clock::now() + std::chrono::milliseconds(20)));
  responses.remove();
  std::thread last([&responses] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    responses.remove();
  });
  // Refusals keep arriving while the last counted response finishes.
  std::atomic<bool> stop{false};
  std::thread refusals([&responses, &stop] {
    while (!stop.load()) EXPECT_FALSE(responses.add());
  });
  const Clock::time_point started = Clock::now();
  EXPECT_TRUE(responses.wait_none(started + std::chrono::seconds(5)));
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(4));
  stop.store(true);
  last.join();
  refusals.join();
}

TEST(HttpRouteTableTest, MatchesTemplatesAndExtractsTheParameter) {
  const auto capture = http::match_route("POST", "/api/v1/credits/reservations/res_1/capture");
  EXPECT_EQ(capture.status, http::RouteStatus::kFound);
  EXPECT_EQ(capture.id, http::RouteId::kCapture);
  EXPECT_EQ(capture.path_param, "res_1");
  EXPECT_EQ(capture.route_template, "/api/v1/credits/reservations/{id}/capture");
  const auto decoded = http::match_route("GET", "/api/v1/admin/accounts/a%40b/balance");
  EXPECT_EQ(decoded.path_param, "a@b");
  EXPECT_EQ(http::match_route("GET", "/api/v1/admin/accounts/%zz/balance").path_param, "");
  const auto wrong_method = http::match_route("GET", "/api/v1/credits/reservations");
  EXPECT_EQ(wrong_method.status, http::RouteStatus::kMethodNotAllowed);
  EXPECT_EQ(wrong_method.allow, "POST");
  for (const char* path :
       {"", "/", "api/v1/health", "/api/v1/health/", "/api//v1/health", "/metrics/x"}) {
    EXPECT_EQ(http::match_route("GET", path).status, http::RouteStatus::kNotFound) << path;
    EXPECT_EQ(http::match_route("GET", path).route_template, "unmatched") << path;
  }
}

TEST(HttpRouteTableTest, OnlyRoutesThatCallOutRunInTheOutboundBulkhead) {
  using http::Bulkhead;
  EXPECT_EQ(http::match_route("POST", "/api/v1/humanize").bulkhead, Bulkhead::kOutbound);
  EXPECT_EQ(http::match_route("POST", "/api/v1/detect").bulkhead, Bulkhead::kOutbound);
  EXPECT_EQ(http::match_route("POST", "/api/v1/billing/checkout").bulkhead, Bulkhead::kOutbound);
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/health"},
           {"GET", "/metrics"},
           {"GET", "/api/v1/credits"},
           {"POST", "/api/v1/credits/reservations"},
           {"POST", "/api/v1/credits/reservations/r/capture"},
           {"POST", "/api/v1/billing/webhooks/stripe"},
           {"GET", "/api/v1/billing/subscription"},
           {"GET", "/api/v1/humanize"},  // 405: answered at once, no model call
           {"GET", "/nowhere"}}) {
    EXPECT_EQ(http::match_route(method, path).bulkhead, Bulkhead::kLedger) << method << path;
  }
}

TEST(HttpIdentifiersTest, AccountIdsAndIdempotencyKeys) {
  EXPECT_TRUE(auth::is_valid_account_id("user_1.a:b@c-d"));
  EXPECT_TRUE(auth::is_valid_account_id(std::string(128, 'a')));
  EXPECT_FALSE(auth::is_valid_account_id(std::string(129, 'a')));
  EXPECT_FALSE(auth::is_valid_account_id(""));
  EXPECT_FALSE(auth::is_valid_account_id("a b"));
  EXPECT_FALSE(auth::is_valid_account_id("a/b"));
  EXPECT_FALSE(auth::is_valid_account_id("\xc3\xa9"));
  EXPECT_TRUE(auth::is_valid_idempotency_key("order 42 / retry #1"));
  EXPECT_TRUE(auth::is_valid_idempotency_key(std::string(255, 'k')));
  EXPECT_FALSE(auth::is_valid_idempotency_key(std::string(256, 'k')));
  EXPECT_FALSE(auth::is_valid_idempotency_key(""));
  EXPECT_FALSE(auth::is_valid_idempotency_key("tab\there"));
}

std::string reply_error(const http::ReplyOr<rapidjson::Document>& parsed) {
  return std::holds_alternative<http::HttpReply>(parsed) ? std::get<http::HttpReply>(parsed).body
                                                         : "";
}

TEST(HttpRequestBodyTest, StructuralRules) {
  EXPECT_EQ(reply_error(http::parse_json_object(R"({"amount":1})", false, {"amount"})), "");
  EXPECT_EQ(reply_error(http::parse_json_object("", true, {"amount"})), "");
  EXPECT_NE(reply_error(http::parse_json_object("", false, {"amount"})).find("invalid_json"),
            std::string::npos);
  EXPECT_NE(
      reply_error(http::parse_json_object(R"({"x":1})", false, {"amount"})).find(R"("field":"x")"),
      std::string::npos);
  const std::string eight_deep = R"({"a":[[[[[[[1]]]]]]]})";
  const std::string nine_deep = R"({"a":[[[[[[[[1]]]]]]]]})";
  EXPECT_EQ(reply_error(http::parse_json_object(eight_deep, false, {"a"})), "");
  EXPECT_NE(reply_error(http::parse_json_object(nine_deep, false, {"a"})).find("nested"),
            std::string::npos);
  // Brackets inside strings do not count as nesting.
  EXPECT_EQ(reply_error(http::parse_json_object(R"({"a":"[[[[[[[[[[[[\"[["})", false, {"a"})), "");
}

TEST(HttpRequestBodyTest, AmountsAreStrictIntegers) {
  const auto amount = [](const std::string& json) -> std::string {
    rapidjson::Document document;
    document.Parse(json.c_str());
    const auto result = http::required_amount(document, "amount");
    if (std::holds_alternative<int64_t>(result)) return std::to_string(std::get<int64_t>(result));
    return std::get<http::HttpReply>(result).body.substr(0, 30);
  };
  EXPECT_EQ(amount(R"({"amount":1})"), "1");
  EXPECT_EQ(amount(R"({"amount":1000000000000})"), "1000000000000");
  EXPECT_EQ(amount(R"({"amount":1000000000001})").find("invalid_amount"), 10u);
  EXPECT_EQ(amount(R"({"amount":0})").find("invalid_amount"), 10u);
  EXPECT_EQ(amount(R"({"amount":-1})").find("invalid_amount"), 10u);
  EXPECT_EQ(amount(R"({"amount":1.0})").find("invalid_amount"), 10u);
  EXPECT_EQ(amount(R"({"amount":"1"})").find("invalid_request"), 10u);
  EXPECT_EQ(amount(R"({})").find("invalid_request"), 10u);
}

TEST(HttpOutcomeReplyTest, RejectionsMapToTheContract) {
  ledger::Outcome outcome;
  outcome.rejection = ledger::Rejection::kInsufficientCredits;
  outcome.credits_needed = 50;
  outcome.credits_available = 20;
  const http::HttpReply insufficient = http::rejection_reply(outcome);
  EXPECT_EQ(insufficient.status, 402);
  EXPECT_EQ(insufficient.body,
            R"({"error":"insufficient_credits","credits_needed":50,"credits_available":20})");
  const std::pair<ledger::Rejection, int> statuses[] = {
      {ledger::Rejection::kInvalidCommand, 400},
      {ledger::Rejection::kInvalidAmount, 400},
      {ledger::Rejection::kReservationNotFound, 404},
      {ledger::Rejection::kReservationSettled, 409},
      {ledger::Rejection::kReservationExpired, 409},
      {ledger::Rejection::kCaptureExceedsReservation, 409},
      {ledger::Rejection::kRefundExceedsSpent, 409},
      {ledger::Rejection::kBalanceOverflow, 409},
      {ledger::Rejection::kIdempotencyConflict, 409}};
  for (const auto& [rejection, status] : statuses) {
    outcome.rejection = rejection;
    EXPECT_EQ(http::rejection_reply(outcome).status, status) << ledger::rejection_code(rejection);
    EXPECT_NE(
        http::rejection_reply(outcome).body.find(std::string(ledger::rejection_code(rejection))),
        std::string::npos);
  }
}

TEST(HttpOutcomeReplyTest, ReplayedOutcomeHasTheSameBody) {
  ledger::Outcome outcome;
  outcome.reservation_id = "res_1";
  outcome.amount = 10;
  outcome.expires_at_us = 1'700'000'000'123'456;
  outcome.credits_available = 90;
  const http::HttpReply first = http::outcome_reply(http::RouteId::kReserve, outcome);
  outcome.replayed = true;
  const http::HttpReply replay = http::outcome_reply(http::RouteId::kReserve, outcome);
  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(replay.status, first.status);
  EXPECT_EQ(replay.body, first.body);
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(
      first.body,
      R"({"reservation_id":"res_1","amount":10,"expires_at":"2023-11-14T22:13:20.123456Z","credits_available":90})");
}

TEST(HttpRateLimiterTest, BurstThenRefillThenRetryAfter) {
  http::RateLimiter limiter(2.0, 3.0, 1000);
  const auto t0 = http::RateLimiter::Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.admit("a", t0).allowed);
  const auto refused = limiter.admit("a", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_s, 1);
  EXPECT_TRUE(limiter.admit("b", t0).allowed);
  EXPECT_TRUE(limiter.admit("a", t0 + std::chrono::milliseconds(500)).allowed);
  EXPECT_FALSE(limiter.admit("a", t0 + std::chrono::milliseconds(500)).allowed);
  http::RateLimiter slow(0.1, 1.0, 1000);
  EXPECT_TRUE(slow.admit("a", t0).allowed);
  EXPECT_EQ(slow.admit("a", t0).retry_after_s, 10);
  http::RateLimiter disabled(0, 0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(disabled.admit("a", t0).allowed);
}

TEST(HttpRateLimiterTest, BucketCountStaysBounded) {
  http::RateLimiter limiter(1.0, 1.0, 160);
  const auto t0 = http::RateLimiter::Clock::now();
  for (int i = 0; i < 10'000; ++i) limiter.admit("account-" + std::to_string(i), t0);
  EXPECT_LE(limiter.bucket_count(), 160u);
  // Idle buckets are the first to go: much later every old bucket is gone.
  limiter.admit("late", t0 + std::chrono::hours(1));
  EXPECT_LE(limiter.bucket_count(), 160u);
}

TEST(HttpRateLimiterTest, CheckDecidesLikeAdmitWithoutTakingATokenOrTrackingTheKey) {
  // The failed-authentication limiter: 3 failures per 60 s.
  http::RateLimiter limiter(3.0 / 60.0, 3.0, 1000);
  const auto t0 = http::RateLimiter::Clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.check("10.0.0.1", t0).allowed);
  EXPECT_EQ(limiter.bucket_count(), 0u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.check("10.0.0.1", t0).allowed);
    limiter.admit("10.0.0.1", t0);  // a failure
  }
  const auto refused = limiter.check("10.0.0.1", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_s, 20);  // one failure's worth refills in 60 / 3 s
  EXPECT_EQ(limiter.check("10.0.0.1", t0 + std::chrono::milliseconds(19'500)).retry_after_s, 1);
  EXPECT_TRUE(limiter.check("10.0.0.1", t0 + std::chrono::seconds(21)).allowed);
  EXPECT_TRUE(limiter.check("10.0.0.2", t0).allowed);
  EXPECT_EQ(limiter.bucket_count(), 1u);
  http::RateLimiter disabled(0, 0, 1);
  disabled.admit("a", t0);
  EXPECT_TRUE(disabled.check("a", t0).allowed);
}

TEST(HttpConcurrencyLimiterTest, CapsEachKeyAndReleasesWithThePermit) {
  http::ConcurrencyLimiter limiter(2);
  auto first = limiter.try_acquire("alice");
  auto second = limiter.try_acquire("alice");
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(limiter.try_acquire("alice").has_value());
  auto other = limiter.try_acquire("bob");
  EXPECT_TRUE(other.has_value());
  EXPECT_EQ(limiter.in_flight(), 3u);
  {
    const http::ConcurrencyLimiter::Permit moved = std::move(*first);
    first.reset();  // the moved-from permit releases nothing
    EXPECT_EQ(limiter.in_flight(), 3u);
    EXPECT_FALSE(limiter.try_acquire("alice").has_value());
  }
  EXPECT_EQ(limiter.in_flight(), 2u);
  EXPECT_TRUE(limiter.try_acquire("alice").has_value());  // released again at once
  second.reset();
  other.reset();
  EXPECT_EQ(limiter.in_flight(), 0u);
  http::ConcurrencyLimiter unlimited(0);
  std::vector<http::ConcurrencyLimiter::Permit> many;
  for (int i = 0; i < 100; ++i) many.push_back(std::move(*unlimited.try_acquire("alice")));
  EXPECT_EQ(unlimited.in_flight(), 0u);
}

TEST(HttpClientAddressTest, ForwardedForOnlyWhenTrustedAndOnlyItsLastAddress) {
  EXPECT_EQ(http::client_address("10.0.0.9", "203.0.113.7", false), "10.0.0.9");
  EXPECT_EQ(http::client_address("10.0.0.9", "", true), "10.0.0.9");
  EXPECT_EQ(http::client_address("10.0.0.9", "203.0.113.7", true), "203.0.113.7");
  // A client may send its own entries; the proxy appends the address it saw.
  EXPECT_EQ(http::client_address("10.0.0.9", "1.2.3.4, 203.0.113.7", true), "203.0.113.7");
  EXPECT_EQ(http::client_address("10.0.0.9", "1.2.3.4,\t2001:db8::1 ", true), "2001:db8::1");
  for (const char* bad : {"unknown", "1.2.3.4, ", "1.2.3.4,evil", "[2001:db8::1]:443",
                          "1.2.3.4 5.6.7.8", "0000000000000000000000000000000000000000000001"}) {
    EXPECT_EQ(http::client_address("10.0.0.9", bad, true), "10.0.0.9") << bad;
  }
}

TEST(HttpDatabaseProbeTest, OnlyARecentSuccessVouches) {
  using std::chrono::milliseconds;
  const auto now = std::chrono::steady_clock::now();
  EXPECT_FALSE(http::database_vouched(std::nullopt, now, milliseconds(3'000)));
  EXPECT_TRUE(http::database_vouched(now, now, milliseconds(3'000)));
  EXPECT_TRUE(http::database_vouched(now - milliseconds(3'000), now, milliseconds(3'000)));
  EXPECT_FALSE(http::database_vouched(now - milliseconds(3'001), now, milliseconds(3'000)));
}

TEST(HttpWorkerPoolTest, RefusesWhenFullAndDrainsEverythingAdmitted) {
  http::WorkerPool pool(1, 2);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.try_submit([opened, &ran] {
    opened.wait();
    ++ran;
  }));
  while (pool.busy_count() == 0) std::this_thread::yield();
  EXPECT_TRUE(pool.try_submit([&ran] { ++ran; }));
  EXPECT_TRUE(pool.try_submit([&ran] { ++ran; }));
  EXPECT_FALSE(pool.try_submit([&ran] { ++ran; }));
  EXPECT_EQ(pool.queue_depth(), 2u);
  gate.set_value();
  EXPECT_TRUE(pool.drain(std::chrono::seconds(5)));
  EXPECT_EQ(ran.load(), 3);
}

TEST(HttpWorkerPoolTest, ABurstIsNotRefusedWhileThreadsAreIdle) {
  // Whether or not the idle threads picked the first tasks up yet, threads + queue_max tasks
  // fit and the next one does not.
  http::WorkerPool pool(2, 1);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  std::atomic<int> ran{0};
  const auto blocked = [opened, &ran] {
    opened.wait();
    ++ran;
  };
  EXPECT_TRUE(pool.try_submit(blocked));
  EXPECT_TRUE(pool.try_submit(blocked));
  EXPECT_TRUE(pool.try_submit(blocked));
  EXPECT_FALSE(pool.try_submit(blocked));
  gate.set_value();
  EXPECT_TRUE(pool.drain(std::chrono::seconds(5)));
  EXPECT_EQ(ran.load(), 3);
}

TEST(HttpWorkerPoolTest, DrainStopsAdmission) {
  http::WorkerPool pool(2, 4);
  EXPECT_TRUE(pool.drain(std::chrono::seconds(1)));
  EXPECT_FALSE(pool.try_submit([] {}));
}

TEST(HttpApiKeyTest, ScopesParse) {
  const auto both = auth::parse_scopes("reserve,admin");
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(both));
  EXPECT_EQ(std::get<std::vector<std::string>>(both),
            (std::vector<std::string>{"reserve", "admin"}));
  EXPECT_TRUE(std::holds_alternative<std::string>(auth::parse_scopes("")));
  EXPECT_TRUE(std::holds_alternative<std::string>(auth::parse_scopes("root")));
  EXPECT_TRUE(std::holds_alternative<std::string>(auth::parse_scopes("admin,admin")));
  EXPECT_TRUE(std::holds_alternative<std::string>(auth::parse_scopes("admin,")));
  EXPECT_TRUE(auth::looks_like_api_key("lk_x"));
  EXPECT_FALSE(auth::looks_like_api_key("eyJhbGciOi"));
}

}  // namespace
}  // namespace http_tests
