// The bad-input table: malformed, mistyped, missing, out-of-range and oversized requests.
// Each must get a 4xx with an error code, and afterwards the account's events, balance,
// projection-vs-fold and hash chain must be exactly as before, with the server healthy.
#include <gtest/gtest.h>

#include "tests/http/ledgerd_fixture.h"
#include "unicode/utf8.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::http_request;

struct BadInput {
  enum class Credential { kUser, kAdmin };
  BadInput(std::string name, std::string method, std::string path, std::string body, long status,
           std::string error, Credential credential = Credential::kUser,
           bool send_idempotency_key = true, std::string idempotency_key = "")
      : name(std::move(name)),
        method(std::move(method)),
        path(std::move(path)),
        body(std::move(body)),
        status(status),
        error(std::move(error)),
        credential(credential),
        send_idempotency_key(send_idempotency_key),
        idempotency_key(std::move(idempotency_key)) {}

  std::string name;
  std::string method;
  std::string path;
  std::string body;
  long status;
  std::string error;
  Credential credential;
  bool send_idempotency_key;
  std::string idempotency_key;  // empty: a fresh one
};

std::string reservation_body(const std::string& amount) {
  return R"({"amount":)" + amount + R"(,"feature":"humanize"})";
}

std::vector<BadInput> bad_inputs(const std::string& reservation_id) {
  const std::string reserve = "/api/v1/credits/reservations";
  const std::string capture = reserve + "/" + reservation_id + "/capture";
  const std::string grants = "/api/v1/admin/accounts/victim/grants";
  const auto admin = BadInput::Credential::kAdmin;
  std::vector<BadInput> cases = {
      {"truncated JSON", "POST", reserve, R"({"amount":)", 400, "invalid_json"},
      {"empty body", "POST", reserve, "", 400, "invalid_json"},
      {"array body", "POST", reserve, "[1,2]", 400, "invalid_json"},
      {"string body", "POST", reserve, R"("amount")", 400, "invalid_json"},
      {"trailing garbage", "POST", reserve, reservation_body("5") + "x", 400, "invalid_json"},
      {"invalid UTF-8", "POST", reserve, "{\"amount\":5,\"feature\":\"\xff\xfe\"}", 400,
       "invalid_json"},
      {"overlong UTF-8", "POST", reserve, "{\"amount\":5,\"feature\":\"\xc0\xaf\"}", 400,
       "invalid_json"},
      {"nesting 64 deep", "POST", reserve, std::string(64, '[') + std::string(64, ']'), 400,
       "invalid_json"},
      {"nesting 100000 deep", "POST", reserve, std::string(100'000, '['), 400, "invalid_json"},
      {"duplicate member", "POST", reserve, R"({"amount":5,"amount":500,"feature":"x"})", 400,
       "invalid_json"},
      {"number too big for JSON", "POST", reserve, reservation_body("1e400"), 400, "invalid_json"},
      {"missing amount", "POST", reserve, R"({"feature":"humanize"})", 400, "invalid_request"},
      {"missing feature", "POST", reserve, R"({"amount":5})", 400, "invalid_request"},
      {"amount as string", "POST", reserve, reservation_body(R"("10")"), 400, "invalid_request"},
      {"amount null", "POST", reserve, reservation_body("null"), 400, "invalid_request"},
      {"amount true", "POST", reserve, reservation_body("true"), 400, "invalid_request"},
      {"amount object", "POST", reserve, reservation_body(R"({"value":5})"), 400,
       "invalid_request"},
      {"amount zero", "POST", reserve, reservation_body("0"), 400, "invalid_amount"},
      {"amount negative", "POST", reserve, reservation_body("-5"), 400, "invalid_amount"},
      {"amount fraction", "POST", reserve, reservation_body("1.5"), 400, "invalid_amount"},
      {"amount 10.0", "POST", reserve, reservation_body("10.0"), 400, "invalid_amount"},
      {"amount exponent", "POST", reserve, reservation_body("1e3"), 400, "invalid_amount"},
      {"amount 2^63", "POST", reserve, reservation_body("9223372036854775808"), 400,
       "invalid_amount"},
      {"amount 2^63-1", "POST", reserve, reservation_body("9223372036854775807"), 400,
       "invalid_amount"},
      {"amount -2^63", "POST", reserve, reservation_body("-9223372036854775808"), 400,
       "invalid_amount"},
      {"amount 10^12+1", "POST", reserve, reservation_body("1000000000001"), 400, "invalid_amount"},
      {"amount 2^64", "POST", reserve, reservation_body("18446744073709551616"), 400,
       "invalid_amount"},
      {"feature empty", "POST", reserve, R"({"amount":5,"feature":""})", 400, "invalid_request"},
      {"feature number", "POST", reserve, R"({"amount":5,"feature":7})", 400, "invalid_request"},
      {"feature too long", "POST", reserve,
       R"({"amount":5,"feature":")" + std::string(65, 'f') + "\"}", 400, "invalid_request"},
      {"feature with NUL", "POST", reserve, R"({"amount":5,"feature":"a\u0000b"})", 400,
       "invalid_json"},
      {"feature a lone low surrogate", "POST", reserve, R"({"amount":1,"feature":"\udc00"})",
       400, "invalid_json"},
      {"feature a lone high surrogate", "POST", reserve, R"({"amount":1,"feature":"\ud800"})",
       400, "invalid_json"},
      {"feature a reversed surrogate pair", "POST", reserve,
       R"({"amount":1,"feature":"\udc00\ud800"})", 400, "invalid_json"},
      {"member name a lone surrogate", "POST", reserve,
       R"({"amount":1,"feature":"x","\udfff":1})", 400, "invalid_json"},
      {"grant reason a lone surrogate", "POST", grants, R"({"amount":100,"reason":"\udc00"})",
       400, "invalid_json", admin},
      {"ttl zero", "POST", reserve, R"({"amount":5,"feature":"x","ttl_seconds":0})", 400,
       "invalid_request"},
      {"ttl above a day", "POST", reserve, R"({"amount":5,"feature":"x","ttl_seconds":86401})", 400,
       "invalid_request"},
      {"ttl as string", "POST", reserve, R"({"amount":5,"feature":"x","ttl_seconds":"60"})", 400,
       "invalid_request"},
      {"unknown field", "POST", reserve, R"({"amount":5,"feature":"x","amuont":5})", 400,
       "invalid_request"},
      {"account id with spaces", "POST", reserve,
       R"({"amount":5,"feature":"x","account_id":"bad id"})", 400, "invalid_account_id"},
      {"account id 129 chars", "POST", reserve,
       R"({"amount":5,"feature":"x","account_id":")" + std::string(129, 'a') + "\"}", 400,
       "invalid_account_id"},
      {"oversized body", "POST", reserve,
       R"({"amount":5,"feature":")" + std::string(300'000, 'x') + "\"}", 413, "payload_too_large"},
      {"no idempotency key", "POST", reserve, reservation_body("5"), 400,
       "idempotency_key_required", BadInput::Credential::kUser, false},
      {"idempotency key 256 chars", "POST", reserve, reservation_body("5"), 400,
       "invalid_idempotency_key", BadInput::Credential::kUser, true, std::string(256, 'k')},
      {"unknown reservation", "POST", reserve + "/res_00000000-0000-4000-8000-000000000000/capture",
       R"({"amount":1})", 404, "reservation_not_found"},
      {"reservation id not an id", "POST", reserve + "/res%20x%21/capture", R"({"amount":1})", 404,
       "reservation_not_found"},
      {"capture zero", "POST", capture, R"({"amount":0})", 400, "invalid_amount"},
      {"capture more than reserved", "POST", capture, R"({"amount":11})", 409,
       "capture_exceeds_reservation"},
      {"capture float", "POST", capture, R"({"amount":2.5})", 400, "invalid_amount"},
      {"release with malformed body", "POST", reserve + "/" + reservation_id + "/release", "xx",
       400, "invalid_json"},
      {"wrong method", "PUT", reserve, reservation_body("5"), 405, "method_not_allowed"},
      {"grant negative", "POST", grants, R"({"amount":-100,"reason":"x"})", 400, "invalid_amount",
       admin},
      {"grant without reason", "POST", grants, R"({"amount":100})", 400, "invalid_request", admin},
      {"grant reason too long", "POST", grants,
       R"({"amount":100,"reason":")" + std::string(300, 'r') + "\"}", 400, "invalid_request",
       admin},
      {"grant to an invalid account", "POST",
       "/api/v1/admin/accounts/" + std::string(129, 'v') + "/grants",
       R"({"amount":100,"reason":"x"})", 400, "invalid_account_id", admin},
      {"events limit 0", "GET", "/api/v1/admin/accounts/victim/events?limit=0", "", 400,
       "invalid_request", admin},
      {"events limit 501", "GET", "/api/v1/admin/accounts/victim/events?limit=501", "", 400,
       "invalid_request", admin},
      {"events after -1", "GET", "/api/v1/admin/accounts/victim/events?after_version=-1", "", 400,
       "invalid_request", admin},
      {"balance bad timestamp", "GET", "/api/v1/admin/accounts/victim/balance?as_of=yesterday", "",
       400, "invalid_timestamp", admin},
      {"balance month 13", "GET",
       "/api/v1/admin/accounts/victim/balance?as_of=2024-13-01T00:00:00Z", "", 400,
       "invalid_timestamp", admin},
      {"balance no zone", "GET", "/api/v1/admin/accounts/victim/balance?as_of=2024-01-01T00:00:00",
       "", 400, "invalid_timestamp", admin},
  };
  return cases;
}

class HttpBadInputTest : public LedgerdTest {};

TEST_F(HttpBadInputTest, EveryBadRequestIs4xxWithACodeAndChangesNothing) {
  const std::string victim = token("victim");
  const std::string admin = create_key("ops", {"admin"});
  const TestResponse opened = reserve(victim, 10);
  ASSERT_EQ(opened.status, 201) << opened.body;
  const std::string reservation_id = string_field(parse_json(opened.body), "reservation_id");
  const int64_t events_before = event_count("victim");
  const auto balance_before = balance_row("victim");
  ASSERT_TRUE(balance_before.has_value());

  const std::vector<BadInput> cases = bad_inputs(reservation_id);
  ASSERT_GE(cases.size(), 30u);
  for (const BadInput& c : cases) {
    TestHeaders headers = bearer(c.credential == BadInput::Credential::kAdmin ? admin : victim);
    if (c.send_idempotency_key) {
      headers = with_key(headers, c.idempotency_key.empty() ? fresh_key() : c.idempotency_key);
    }
    const TestResponse response = http_request(c.method, url(c.path), headers, c.body);
    EXPECT_EQ(response.status, c.status) << c.name << ": " << response.body << response.error;
    EXPECT_EQ(error_code(response), c.error) << c.name << ": " << response.body;
    EXPECT_EQ(response.header("content-type"), "application/json") << c.name;
    EXPECT_EQ(event_count("victim"), events_before) << c.name;
  }
  const auto balance_after = balance_row("victim");
  EXPECT_EQ(balance_after->credits_available, balance_before->credits_available);
  EXPECT_EQ(balance_after->credits_reserved, balance_before->credits_reserved);
  EXPECT_EQ(balance_after->version, balance_before->version);
  expect_consistent("victim");
  // Request lines Pistache cannot parse are refused (by Pistache, in plain text) without
  // harming the server.
  for (const char* raw :
       {"FOO /api/v1/health HTTP/1.1\r\n\r\n", "GET /api/v1/health HTTP/9.9\r\n\r\n"}) {
    const std::string answer = testing_support::raw_http_exchange(ledgerd_->port(), raw);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  }
  EXPECT_EQ(http_get(url("/api/v1/health"), {}).status, 200);
  EXPECT_TRUE(ledgerd_->running());
}

// An unknown member name is echoed cut to 64 bytes, never inside a character: the reply is
// valid UTF-8 whatever the name.
TEST_F(HttpBadInputTest, UnknownFieldEchoNeverSplitsACharacter) {
  const std::string victim = token("victim");
  std::string name(63, 'n');
  name += "\u00e9\u00e9";  // bytes 64-67: two 2-byte characters, the first straddles the cut
  const TestResponse response =
      http_request("POST", url("/api/v1/credits/reservations"), with_key(bearer(victim), fresh_key()),
                   R"({"amount":1,"feature":"x",")" + name + R"(":1})");
  EXPECT_EQ(response.status, 400) << response.body;
  EXPECT_EQ(error_code(response), "invalid_request");
  EXPECT_TRUE(unicode::is_valid_utf8(response.body)) << response.body;
  EXPECT_NE(response.body.find("\"field\":\"" + std::string(63, 'n') + "\""), std::string::npos)
      << response.body;
}

// HTTP/1.1 pipelining is not supported: Pistache 0.0.5 parses one request per read and
// drops the bytes after it, so a request sent behind another in the same packet is dropped
// unprocessed and never answered. What must hold whatever the reads: no request has an
// effect without its answer (the reservations are exactly the 201s received), and the
// client can send an unanswered one again, on a new connection, with the same key.
TEST_F(HttpBadInputTest, APipelinedRequestHasNoEffectWithoutItsAnswer) {
  const std::string alice = token("alice");
  const std::string body = R"({"amount":1,"feature":"humanize"})";
  const auto reservation = [&](const std::string& key) {
    return "POST /api/v1/credits/reservations HTTP/1.1\r\nHost: ledgerd\r\n"
           "Connection: keep-alive\r\nAuthorization: Bearer " +
           alice + "\r\nIdempotency-Key: " + key +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  };
  const auto reserved = [this] {
    int count = 0;
    for (const auto& event : stored_events("alice")) count += event.event_type == "CreditsReserved";
    return count;
  };
  testing_support::RawConnection connection(ledgerd_->port());
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(reservation("pipelined-1") + reservation("pipelined-2")));
  std::string answers = connection.receive(5'000);
  answers += connection.receive(1'000);  // a second answer, if both were handled
  int created = 0;
  for (std::size_t at = answers.find("HTTP/1.1 201"); at != std::string::npos;
       at = answers.find("HTTP/1.1 201", at + 1)) {
    ++created;
  }
  ASSERT_GE(created, 1) << answers;
  EXPECT_EQ(reserved(), created) << answers;
  // The unanswered one, sent again on its own connection, is new; an answered one replays.
  for (const std::string key : {"pipelined-1", "pipelined-2"}) {
    const TestResponse again = testing_support::http_post(url("/api/v1/credits/reservations"),
                                                          with_key(bearer(alice), key), body);
    EXPECT_EQ(again.status, 201) << key << ": " << again.body;
  }
  EXPECT_EQ(reserved(), 2);
  expect_consistent("alice");
}

}  // namespace
}  // namespace http_tests
