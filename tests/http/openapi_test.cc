// The OpenAPI document (docs/openapi.json) against the route table and the running server.
// Every response of every HTTP test is checked against it too (tests/support/
// openapi_contract.h, called by http_request); these tests check the checker can fail.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>
#include <string>
#include <utility>

#include "http/route_table.h"
#include "tests/http/ledgerd_fixture.h"
#include "tests/support/openapi_contract.h"

namespace http_tests {
namespace {

using testing_support::contract_problem;

rapidjson::Document parsed_document() {
  rapidjson::Document document;
  document.Parse(testing_support::openapi_text().c_str());
  EXPECT_FALSE(document.HasParseError());
  return document;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

TEST(OpenApiDocumentTest, EveryRouteIsDocumentedAndEveryOperationIsARoute) {
  const rapidjson::Document document = parsed_document();
  ASSERT_TRUE(document.IsObject());
  EXPECT_STREQ(document["openapi"].GetString(), "3.1.0");
  const rapidjson::Value& paths = document["paths"];
  std::set<std::pair<std::string, std::string>> routes;
  for (const http::RouteDescription& route : http::route_descriptions()) {
    const std::string path(route.path_template);
    const std::string method = lower(route.method);
    routes.insert({method, path});
    ASSERT_TRUE(paths.HasMember(path.c_str())) << path << " is not in docs/openapi.json";
    EXPECT_TRUE(paths[path.c_str()].HasMember(method.c_str()))
        << route.method << " " << path << " is not in docs/openapi.json";
  }
  EXPECT_EQ(routes.size(), http::route_descriptions().size());
  int console_operations = 0;
  for (auto path = paths.MemberBegin(); path != paths.MemberEnd(); ++path) {
    const std::string name = path->name.GetString();
    for (auto op = path->value.MemberBegin(); op != path->value.MemberEnd(); ++op) {
      const std::string method = op->name.GetString();
      if (method == "parameters" || method == "summary" || method == "description") continue;
      EXPECT_TRUE(op->value.HasMember("operationId")) << method << " " << name;
      if (name == "/admin" || name.rfind("/admin/", 0) == 0) {
        console_operations += 1;  // the console's files, served outside the route table
        continue;
      }
      EXPECT_TRUE(routes.count({method, name}) == 1)
          << method << " " << name << " is documented but not a route of ledgerd";
    }
  }
  EXPECT_GE(console_operations, 4);
}

TEST(OpenApiDocumentTest, TheCheckerRefusesWhatTheDocumentDoesNotAllow) {
  // A body the schema allows, and the same route refused for a missing field, a field the
  // document does not know, a wrong type, an undocumented status and an undocumented type.
  const std::string good =
      R"({"account_id":"a","plan":"free","credits_available":3,"credits_reserved":0,)"
      R"("buckets":[],"next_expiry":null,"next_expiry_credits":0})";
  EXPECT_EQ(contract_problem("GET", "http://127.0.0.1:1/api/v1/credits?x=1", 200,
                             "application/json", good),
            std::nullopt);
  EXPECT_NE(contract_problem("GET", "/api/v1/credits", 200, "application/json",
                             R"({"account_id":"a","plan":"free"})"),
            std::nullopt);
  std::string extra = good;
  extra.insert(1, R"("secret":1,)");
  EXPECT_NE(contract_problem("GET", "/api/v1/credits", 200, "application/json", extra),
            std::nullopt);
  std::string wrong_type = good;
  wrong_type.replace(wrong_type.find("3,"), 1, "\"3\"");
  EXPECT_NE(contract_problem("GET", "/api/v1/credits", 200, "application/json", wrong_type),
            std::nullopt);
  EXPECT_NE(contract_problem("GET", "/api/v1/credits", 418, "application/json", good),
            std::nullopt);
  EXPECT_NE(contract_problem("GET", "/api/v1/credits", 200, "text/html", good), std::nullopt);
  // Errors: a documented code with its details, an undocumented code, a path template.
  EXPECT_EQ(contract_problem("POST", "/api/v1/credits/reservations", 402, "application/json",
                             R"({"error":"insufficient_credits","credits_needed":5,)"
                             R"("credits_available":1})"),
            std::nullopt);
  EXPECT_NE(contract_problem("POST", "/api/v1/credits/reservations/res_1/capture", 401,
                             "application/json", R"({"error":"no_such_code"})"),
            std::nullopt);
  EXPECT_NE(contract_problem("GET", "/api/v1/health", 200, "application/json", "not json"),
            std::nullopt);
}

class OpenApiServedTest : public LedgerdTest {};

TEST_F(OpenApiServedTest, LedgerdServesTheDocumentWithoutCredentials) {
  const TestResponse response = testing_support::http_get(url("/api/v1/openapi.json"), {});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("content-type").rfind("application/json", 0), 0u);
  EXPECT_EQ(response.body, testing_support::openapi_text());
  const TestResponse wrong_method =
      testing_support::http_post(url("/api/v1/openapi.json"), {}, "{}");
  EXPECT_EQ(wrong_method.status, 405);
}

}  // namespace
}  // namespace http_tests
