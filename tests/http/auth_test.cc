// The authentication and authorization matrix of ledgerd: every way a credential can be
// missing, malformed, forged, expired or insufficient, and the one answer each must get.
#include <gtest/gtest.h>

#include <chrono>

#include "auth/jwt.h"
#include "crypto/digest.h"
#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::http_post;

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string claims(const std::string& sub, int64_t exp, const std::string& extra = "") {
  return R"({"sub":")" + sub + R"(","exp":)" + std::to_string(exp) + extra + "}";
}

class HttpAuthTest : public LedgerdTest {
 protected:
  // GET /api/v1/credits with this Authorization header value ("" = none).
  TestResponse credits_with(const std::string& authorization) const {
    TestHeaders headers;
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    return http_get(url("/api/v1/credits"), headers);
  }
  std::string hs256(const std::string& payload,
                    const std::string& header = R"({"alg":"HS256","typ":"JWT"})") const {
    return auth::sign_jwt_hs256(secret_, header, payload);
  }
};

TEST_F(HttpAuthTest, UserTokenMatrix) {
  const int64_t now = now_s();
  const std::string unsigned_none = crypto::base64url_encode(R"({"alg":"none","typ":"JWT"})") +
                                    "." + crypto::base64url_encode(claims("alice", now + 600)) +
                                    ".";
  const std::string valid = hs256(claims("alice", now + 600));
  const std::string tampered_payload = valid.substr(0, valid.find('.') + 1) +
                                       crypto::base64url_encode(claims("root", now + 600)) +
                                       valid.substr(valid.rfind('.'));
  struct Case {
    const char* name;
    std::string authorization;
    long status;
  };
  const std::vector<Case> cases = {
      {"no header", "", 401},
      {"basic scheme", "Basic YWxpY2U6cGFzcw==", 401},
      {"bearer without token", "Bearer ", 401},
      {"not a jwt", "Bearer not-a-token", 401},
      {"two parts", "Bearer abc.def", 401},
      {"garbage base64", "Bearer @@@.###.$$$", 401},
      {"bad signature",
       "Bearer " +
           auth::sign_jwt_hs256("other-secret", R"({"alg":"HS256"})", claims("alice", now + 600)),
       401},
      {"tampered payload", "Bearer " + tampered_payload, 401},
      {"alg none", "Bearer " + unsigned_none, 401},
      {"alg none signed", "Bearer " + hs256(claims("alice", now + 600), R"({"alg":"none"})"), 401},
      {"alg HS512", "Bearer " + hs256(claims("alice", now + 600), R"({"alg":"HS512","typ":"JWT"})"),
       401},
      {"alg hs256 lower case", "Bearer " + hs256(claims("alice", now + 600), R"({"alg":"hs256"})"),
       401},
      {"alg RS256", "Bearer " + hs256(claims("alice", now + 600), R"({"alg":"RS256"})"), 401},
      {"expired", "Bearer " + hs256(claims("alice", now - 120)), 401},
      {"expired within leeway", "Bearer " + hs256(claims("alice", now - 5)), 200},
      {"not yet valid",
       "Bearer " + hs256(claims("alice", now + 600, R"(,"nbf":)" + std::to_string(now + 300))),
       401},
      {"nbf in the past",
       "Bearer " + hs256(claims("alice", now + 600, R"(,"nbf":)" + std::to_string(now - 10))), 200},
      {"no exp", "Bearer " + hs256(R"({"sub":"alice"})"), 401},
      {"exp as string", "Bearer " + hs256(R"({"sub":"alice","exp":"tomorrow"})"), 401},
      {"no sub", "Bearer " + hs256(R"({"exp":)" + std::to_string(now + 600) + "}"), 401},
      {"sub not an account id", "Bearer " + hs256(claims("alice smith", now + 600)), 401},
      {"signature's unused bits set", "Bearer " + with_stray_last_bit(valid), 401},
      {"valid", "Bearer " + valid, 200},
      {"valid, scheme lower case", "bearer " + valid, 200},
  };
  for (const Case& c : cases) {
    const TestResponse response = credits_with(c.authorization);
    EXPECT_EQ(response.status, c.status) << c.name << ": " << response.body;
    if (c.status == 401) {
      EXPECT_EQ(response.body, R"({"error":"unauthorized"})") << c.name;
    }
  }
}

TEST_F(HttpAuthTest, UsersTouchOnlyTheirOwnAccount) {
  const std::string alice = token("alice");
  const TestResponse other = reserve(alice, 5, R"(,"account_id":"bob")");
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.body, R"({"error":"forbidden"})");
  EXPECT_EQ(reserve(alice, 5, R"(,"account_id":"alice")").status, 201);
  EXPECT_EQ(http_get(url("/api/v1/admin/accounts/alice/events"), bearer(alice)).status, 403);
  EXPECT_EQ(http_post(url("/api/v1/admin/accounts/alice/grants"),
                      with_key(bearer(alice), fresh_key()), R"({"amount":1000,"reason":"self"})")
                .status,
            403);
  EXPECT_FALSE(balance_row("bob").has_value());
  EXPECT_EQ(balance_row("alice")->credits_granted, 300);
}

TEST_F(HttpAuthTest, ApiKeyScopes) {
  const std::string reserve_key = create_key("checkout", {"reserve"});
  const std::string admin_key = create_key("ops", {"admin"});
  const std::string both_key = create_key("root", {"reserve", "admin"});
  const std::string events = "/api/v1/admin/accounts/alice/events";
  EXPECT_EQ(http_get(url(events), bearer(admin_key)).status, 404);  // no such account yet
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(token("alice"))).status, 200);  // opens it
  EXPECT_EQ(http_get(url(events), bearer(admin_key)).status, 200);
  EXPECT_EQ(http_get(url(events), bearer(both_key)).status, 200);
  const TestResponse no_admin = http_get(url(events), bearer(reserve_key));
  EXPECT_EQ(no_admin.status, 403);
  EXPECT_EQ(no_admin.body, R"({"error":"forbidden"})");
  const TestResponse no_reserve = reserve(admin_key, 5, R"(,"account_id":"alice")");
  EXPECT_EQ(no_reserve.status, 403);
  EXPECT_EQ(reserve(reserve_key, 5, R"(,"account_id":"alice")").status, 201);
  EXPECT_EQ(reserve(both_key, 5, R"(,"account_id":"alice")").status, 201);

  const std::string forged = reserve_key.substr(0, reserve_key.size() - 4) + "AAAA";
  const std::string unknown = "lk_00112233445566ff_" + std::string(43, 'A');
  for (const std::string& key : {forged, unknown, std::string("lk_short"), reserve_key + "x"}) {
    const TestResponse refused = reserve(key, 5, R"(,"account_id":"alice")");
    EXPECT_EQ(refused.status, 401) << key;
    EXPECT_EQ(refused.body, R"({"error":"unauthorized"})");
  }
  auto connection = database_->connect();
  pqxx::work work(*connection);
  work.exec("UPDATE ledger_api_keys SET revoked_at = now() WHERE name = 'checkout'");
  work.commit();
  EXPECT_EQ(reserve(reserve_key, 5, R"(,"account_id":"alice")").status, 401);
  EXPECT_EQ(balance_row("alice")->credits_reserved, 10);
}

// Scope `reserve` acts on accounts that exist; opening one (with its free allowance) takes
// scope `open_accounts` too, so a leaked reserve key cannot mint free credits.
TEST_F(HttpAuthTest, OnlyTheOpenAccountsScopeOpensAccounts) {
  const std::string reserve_key = create_key("checkout", {"reserve"});
  const std::string opener_key = create_key("signup", {"reserve", "open_accounts"});
  const TestResponse refused = reserve(reserve_key, 5, R"(,"account_id":"newcomer")");
  EXPECT_EQ(refused.status, 404) << refused.body;
  EXPECT_EQ(refused.body, R"({"error":"account_not_found"})");
  EXPECT_EQ(event_count("newcomer"), 0);
  EXPECT_FALSE(balance_row("newcomer").has_value());
  const TestResponse opened = reserve(opener_key, 5, R"(,"account_id":"newcomer")");
  ASSERT_EQ(opened.status, 201) << opened.body;
  EXPECT_EQ(event_count("newcomer"), 3);  // opened, allowance, reserved
  // Once the account exists, the reserve scope is enough.
  EXPECT_EQ(reserve(reserve_key, 5, R"(,"account_id":"newcomer")").status, 201);
  EXPECT_EQ(balance_row("newcomer")->credits_reserved, 10);
  expect_consistent("newcomer");
}

}  // namespace
}  // namespace http_tests
