// Fuzz target: the Shopify event parser (webhooks/shopify_event.h).
//
// Input: the X-Shopify-Topic header value, a NUL byte, the webhook body.
//
// Properties:
// - an error is a non-empty, valid UTF-8 description;
// - a parsed event keeps the topic as given, and its shop fields are storable text (valid
//   UTF-8, no NUL);
// - a shop id read from `id` only comes from a shop/ or app/ topic;
// - the event written back as a body parses, under the same topic, to the same event.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "ledger/json_fields.h"
#include "tests/fuzz/fuzz_support.h"
#include "webhooks/json_reader.h"
#include "webhooks/shopify_event.h"

namespace {

using ledger::json::put;
using webhooks::ShopifyEvent;

std::string write_body(const ShopifyEvent& event) {
  return fuzz::write_json([&](ledger::json::Writer& writer) {
    writer.StartObject();
    put(writer, "myshopify_domain", event.shop_domain);
    put(writer, "shop_id", event.shop_id);
    fuzz::begin_object(writer, "customer");
    put(writer, "id", event.customer_id);
    writer.EndObject();
    writer.EndObject();
  });
}

// The `shop_id` member of the body, when the parser could have read it.
std::string shop_id_member(std::string_view body) {
  rapidjson::Document document;
  if (!webhooks::parse_bounded_json(body, document).empty() || !document.IsObject()) return {};
  return webhooks::JsonFieldReader(document, "", webhooks::JsonFieldReader::Mode::kLenient)
      .id_text("shop_id");
}

void check_event(const ShopifyEvent& event, std::string_view topic, std::string_view body) {
  FUZZ_REQUIRE(event.topic == topic);
  FUZZ_REQUIRE(fuzz::is_storable_text(event.shop_domain) && fuzz::is_storable_text(event.shop_id) &&
               fuzz::is_storable_text(event.customer_id));
  FUZZ_REQUIRE(topic.starts_with("customers/") || event.customer_id.empty());
  const bool body_is_shop = topic.starts_with("shop/") || topic.starts_with("app/");
  FUZZ_REQUIRE(body_is_shop || event.shop_id == shop_id_member(body));
  const webhooks::ShopifyEventParse again = webhooks::parse_shopify_event(topic, write_body(event));
  FUZZ_REQUIRE(std::holds_alternative<ShopifyEvent>(again));
  FUZZ_REQUIRE(std::get<ShopifyEvent>(again) == event);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 2);
  const webhooks::ShopifyEventParse parsed = webhooks::parse_shopify_event(parts[0], parts[1]);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    FUZZ_REQUIRE(!error->empty() && fuzz::is_valid_utf8(*error));
    return 0;
  }
  check_event(std::get<ShopifyEvent>(parsed), parts[0], parts[1]);
  return 0;
}
