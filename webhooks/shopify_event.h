// Shopify event parsing: turns a raw (already verified) Shopify webhook body and its topic
// header into one normalized ShopifyEvent identifying the shop. Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace webhooks {

// Fields are empty when the body does not carry them.
struct ShopifyEvent {
  std::string topic;        // The X-Shopify-Topic header, e.g. "app/uninstalled".
  std::string shop_domain;  // `myshopify_domain`, else `domain`, else `shop_domain`.
  // `shop_id`, else (only for "shop/..." and "app/..." topics, whose body is the shop)
  // `id`; in decimal, as Shopify sends integers.
  std::string shop_id;
  // `customer.id` of the customers/* topics (compliance requests), in decimal; "" elsewhere.
  std::string customer_id;

  bool operator==(const ShopifyEvent&) const = default;
};

// A parsed event, or a description of why the input is not a usable Shopify event.
using ShopifyEventParse = std::variant<ShopifyEvent, std::string>;

inline constexpr std::size_t kShopifyTopicBytesMax = 256;

// Parses `raw_body` (the shop object for `app/uninstalled` and `shop/update`; the GDPR
// topics carry `shop_id`/`shop_domain`). Requires a non-empty `topic` of at most
// kShopifyTopicBytesMax bytes and a JSON object body within the limits of json_reader.h;
// fails when a field it reads is present with the wrong type. Never throws.
ShopifyEventParse parse_shopify_event(std::string_view topic, std::string_view raw_body);

}  // namespace webhooks
