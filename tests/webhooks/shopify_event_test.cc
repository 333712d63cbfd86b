// Tests for webhooks/shopify_event.h: shop identification per topic; errors as values.
#include "webhooks/shopify_event.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/webhooks/signature_vectors.h"

namespace {

using webhooks::ShopifyEvent;

ShopifyEvent parse_ok(std::string_view topic, std::string_view body) {
  webhooks::ShopifyEventParse parsed = webhooks::parse_shopify_event(topic, body);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << "unexpected parse error: " << *error;
    return {};
  }
  return std::get<ShopifyEvent>(std::move(parsed));
}

std::string parse_error(std::string_view topic, std::string_view body) {
  webhooks::ShopifyEventParse parsed = webhooks::parse_shopify_event(topic, body);
  if (const auto* error = std::get_if<std::string>(&parsed)) return *error;
  ADD_FAILURE() << "parsed but should not have: " << body;
  return "<parsed>";
}

TEST(ShopifyEvent, AppUninstalledVectorBody) {
  const ShopifyEvent event = parse_ok("app/uninstalled", webhooks_test::kShopifyVectors[0].body);
  EXPECT_EQ(event.topic, "app/uninstalled");
  EXPECT_EQ(event.shop_domain, "super-toys.myshopify.com");
  EXPECT_EQ(event.shop_id, "548380009");
}

TEST(ShopifyEvent, ShopUpdateFallsBackToDomain) {
  const ShopifyEvent event = parse_ok(
      "shop/update", R"({"id":"gid-7","domain":"toys.example.com","myshopify_domain":null})");
  EXPECT_EQ(event.shop_domain, "toys.example.com");
  EXPECT_EQ(event.shop_id, "gid-7");
}

TEST(ShopifyEvent, ComplianceTopicsCarryShopFields) {
  const ShopifyEvent event =
      parse_ok("shop/redact", R"({"shop_id":954889,"shop_domain":"redact-me.myshopify.com"})");
  EXPECT_EQ(event.shop_domain, "redact-me.myshopify.com");
  EXPECT_EQ(event.shop_id, "954889");
}

TEST(ShopifyEvent, OtherResourcesIdIsNotTheShopId) {
  const ShopifyEvent event = parse_ok("orders/create", R"({"id":820982911946154508})");
  EXPECT_EQ(event.shop_id, "");
  EXPECT_EQ(event.shop_domain, "");
}

TEST(ShopifyEvent, Errors) {
  EXPECT_EQ(parse_error("", "{}"), "topic: missing");
  EXPECT_EQ(parse_error(std::string(webhooks::kShopifyTopicBytesMax + 1, 'a'), "{}"),
            "topic: too long");
  EXPECT_EQ(parse_error("shop/update", "[1]"), "body: expected a JSON object");
  EXPECT_EQ(parse_error("shop/update", R"({"myshopify_domain":5})"),
            "myshopify_domain: expected a string");
  EXPECT_EQ(parse_error("shop/update", R"({"id":1.5})"), "id: expected a string or an integer");
  EXPECT_NE(parse_error("shop/update", "{\"id\":").find("invalid JSON"), std::string::npos);
  EXPECT_EQ(parse_error("shop/update", std::string(70, '[') + std::string(70, ']')),
            "JSON nests deeper than 64 levels");
}

}  // namespace
