// Shopify event parsing (see shopify_event.h).
#include "webhooks/shopify_event.h"

#include <rapidjson/document.h>

#include "webhooks/json_reader.h"

namespace webhooks {

ShopifyEventParse parse_shopify_event(std::string_view topic, std::string_view raw_body) {
  if (topic.empty()) return std::string("topic: missing");
  if (topic.size() > kShopifyTopicBytesMax) return std::string("topic: too long");
  rapidjson::Document document;
  if (std::string error = parse_bounded_json(raw_body, document); !error.empty()) return error;
  if (!document.IsObject()) return std::string("body: expected a JSON object");

  JsonFieldReader fields(document, "");
  ShopifyEvent event;
  event.topic = std::string(topic);
  event.shop_domain = first_non_empty(
      {fields.string("myshopify_domain"), fields.string("domain"), fields.string("shop_domain")});
  // Only the shop and app topics carry the shop object itself; elsewhere `id` is another
  // resource's id (an order's, a customer's).
  const bool body_is_shop = topic.starts_with("shop/") || topic.starts_with("app/");
  event.shop_id = first_non_empty(
      {fields.id_text("shop_id"), body_is_shop ? fields.id_text("id") : std::string()});
  if (topic.starts_with("customers/")) event.customer_id = fields.id_text("customer.id");
  if (!fields.ok()) return fields.error();
  return event;
}

}  // namespace webhooks
