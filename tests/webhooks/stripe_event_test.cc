// Tests for webhooks/stripe_event.h: pre-2025 and 2025+ ("basil") shapes normalize to equal
// values; malformed, mistyped, oversized and deeply nested input are errors, not crashes.
#include "webhooks/stripe_event.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "tests/webhooks/signature_vectors.h"
#include "webhooks/json_reader.h"

namespace {

using webhooks::StripeEvent;
using webhooks::StripeEventParse;

StripeEvent parse_ok(std::string_view body) {
  StripeEventParse parsed = webhooks::parse_stripe_event(body);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << "unexpected parse error: " << *error;
    return {};
  }
  return std::get<StripeEvent>(std::move(parsed));
}

// Returns the parse error, or "<parsed>" (which no expectation below matches) on success.
std::string parse_error(std::string_view body) {
  StripeEventParse parsed = webhooks::parse_stripe_event(body);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    EXPECT_FALSE(error->empty());
    return *error;
  }
  ADD_FAILURE() << "parsed but should not have: " << body.substr(0, 200);
  return "<parsed>";
}

// Wraps `object_json` as data.object of an event of `type`.
std::string event_with(std::string_view type, std::string_view object_json) {
  return R"({"id":"evt_1","object":"event","type":")" + std::string(type) +
         R"(","created":1714000000,"livemode":true,"data":{"object":)" + std::string(object_json) +
         "}}";
}

constexpr std::string_view kInvoicePaidPre2025 = R"({
  "id": "evt_invoice", "object": "event", "api_version": "2024-06-20",
  "created": 1714003300, "livemode": false, "type": "invoice.paid",
  "data": {"object": {
    "id": "in_1", "object": "invoice", "customer": "cus_1", "subscription": "sub_1",
    "billing_reason": "subscription_cycle", "status": "paid", "amount_paid": 1999,
    "currency": "usd", "period_start": 1711324800, "period_end": 1714003200,
    "metadata": {},
    "subscription_details": {"metadata": {"account_id": "user_42", "plan_id": "pro"}},
    "lines": {"object": "list", "has_more": false, "data": [{
      "id": "il_1", "object": "line_item", "amount": 1999,
      "period": {"start": 1714003200, "end": 1716595200},
      "price": {"id": "price_pro_monthly", "object": "price", "unit_amount": 1999},
      "plan": {"id": "price_pro_monthly", "object": "plan"},
      "subscription": "sub_1", "proration": false,
      "metadata": {"account_id": "user_42", "plan_id": "pro"}
    }]}
  }}
})";

constexpr std::string_view kInvoicePaidBasil = R"({
  "id": "evt_invoice", "object": "event", "api_version": "2025-03-31.basil",
  "created": 1714003300, "livemode": false, "type": "invoice.paid",
  "data": {"object": {
    "id": "in_1", "object": "invoice", "customer": "cus_1",
    "billing_reason": "subscription_cycle", "status": "paid", "amount_paid": 1999,
    "currency": "usd", "period_start": 1711324800, "period_end": 1714003200,
    "metadata": {},
    "parent": {"type": "subscription_details", "quote_details": null,
               "subscription_details": {"metadata": {"account_id": "user_42", "plan_id": "pro"},
                                        "subscription": "sub_1"}},
    "lines": {"object": "list", "has_more": false, "data": [{
      "id": "il_1", "object": "line_item", "amount": 1999,
      "period": {"start": 1714003200, "end": 1716595200},
      "pricing": {"type": "price_details",
                  "price_details": {"price": "price_pro_monthly", "product": "prod_1"},
                  "unit_amount_decimal": "1999"},
      "parent": {"type": "subscription_item_details",
                 "subscription_item_details": {"subscription": "sub_1",
                                               "subscription_item": "si_1", "proration": false}},
      "metadata": {}
    }]}
  }}
})";

TEST(StripeEventInvoice, Pre2025ShapeNormalizes) {
  const StripeEvent event = parse_ok(kInvoicePaidPre2025);
  EXPECT_EQ(event.id, "evt_invoice");
  EXPECT_EQ(event.type, "invoice.paid");
  EXPECT_EQ(event.created_unix_s, 1714003300);
  EXPECT_FALSE(event.livemode);
  EXPECT_EQ(event.object_id, "in_1");
  ASSERT_TRUE(event.invoice.has_value());
  EXPECT_FALSE(event.checkout.has_value());
  EXPECT_FALSE(event.subscription.has_value());
  const webhooks::StripeInvoice& invoice = *event.invoice;
  EXPECT_EQ(invoice.id, "in_1");
  EXPECT_EQ(invoice.customer, "cus_1");
  EXPECT_EQ(invoice.subscription, "sub_1");
  EXPECT_EQ(invoice.billing_reason, "subscription_cycle");
  EXPECT_EQ(invoice.period_start_unix_s, 1714003200);
  EXPECT_EQ(invoice.period_end_unix_s, 1716595200);
  EXPECT_EQ(invoice.price_id, "price_pro_monthly");
  EXPECT_EQ(invoice.metadata_account_id, "user_42");
  EXPECT_EQ(invoice.metadata_plan_id, "pro");
  EXPECT_EQ(invoice.amount_paid_minor, 1999);
  EXPECT_EQ(invoice.currency, "usd");
  EXPECT_EQ(invoice.status, "paid");
}

TEST(StripeEventInvoice, BasilShapeEqualsPre2025Shape) {
  const StripeEvent basil = parse_ok(kInvoicePaidBasil);
  const StripeEvent pre_2025 = parse_ok(kInvoicePaidPre2025);
  ASSERT_TRUE(basil.invoice.has_value());
  EXPECT_EQ(basil.invoice->subscription, "sub_1");
  EXPECT_EQ(basil.invoice->price_id, "price_pro_monthly");
  EXPECT_EQ(basil.invoice->period_start_unix_s, 1714003200);
  EXPECT_EQ(basil.invoice->metadata_account_id, "user_42");
  EXPECT_TRUE(basil == pre_2025);
}

TEST(StripeEventInvoice, ExpandedReferencesYieldTheirIds) {
  const StripeEvent event = parse_ok(event_with("invoice.paid", R"({
    "id": "in_2", "customer": {"id": "cus_2", "object": "customer"},
    "subscription": {"id": "sub_2", "object": "subscription"},
    "lines": {"data": [{"price": "price_inline"}]}})"));
  ASSERT_TRUE(event.invoice.has_value());
  EXPECT_EQ(event.invoice->customer, "cus_2");
  EXPECT_EQ(event.invoice->subscription, "sub_2");
  EXPECT_EQ(event.invoice->price_id, "price_inline");
}

TEST(StripeEventInvoice, PeriodFallsBackToInvoicePeriodWithoutLines) {
  const StripeEvent event = parse_ok(event_with("invoice.payment_failed", R"({
    "id": "in_3", "period_start": 100, "period_end": 200, "status": "open",
    "lines": {"data": []}})"));
  ASSERT_TRUE(event.invoice.has_value());
  EXPECT_EQ(event.invoice->period_start_unix_s, 100);
  EXPECT_EQ(event.invoice->period_end_unix_s, 200);
  EXPECT_EQ(event.invoice->status, "open");
  EXPECT_EQ(event.invoice->price_id, "");
  EXPECT_EQ(event.invoice->amount_paid_minor, std::nullopt);
}

TEST(StripeEventInvoice, InvoiceMetadataTakesPrecedenceOverSubscriptionMetadata) {
  const StripeEvent event = parse_ok(event_with("invoice.paid", R"({
    "id": "in_4", "metadata": {"account_id": "from_invoice"},
    "parent": {"subscription_details": {"metadata": {"account_id": "from_sub", "plan_id": "pro"}}},
    "lines": {"data": [{"metadata": {"account_id": "from_line", "plan_id": "basic"}}]}})"));
  ASSERT_TRUE(event.invoice.has_value());
  EXPECT_EQ(event.invoice->metadata_account_id, "from_invoice");
  EXPECT_EQ(event.invoice->metadata_plan_id, "pro");
}

TEST(StripeEventInvoice, LineMetadataAndLineSubscriptionAreLastResorts) {
  const StripeEvent event = parse_ok(event_with("invoice.paid", R"({
    "id": "in_5", "parent": null,
    "lines": {"data": [{"metadata": {"account_id": "from_line"},
                        "parent": {"subscription_item_details": {"subscription": "sub_5"}},
                        "plan": {"id": "plan_legacy"}}]}})"));
  ASSERT_TRUE(event.invoice.has_value());
  EXPECT_EQ(event.invoice->metadata_account_id, "from_line");
  EXPECT_EQ(event.invoice->subscription, "sub_5");
  EXPECT_EQ(event.invoice->price_id, "plan_legacy");
}

TEST(StripeEventInvoice, Int64ExtremesAreExact) {
  const StripeEvent event =
      parse_ok(event_with("invoice.paid", R"({"id": "in_6", "amount_paid": 9223372036854775807})"));
  ASSERT_TRUE(event.invoice.has_value());
  EXPECT_EQ(event.invoice->amount_paid_minor, INT64_MAX);
}

constexpr std::string_view kSubscriptionPre2025 = R"({
  "id": "evt_sub", "object": "event", "created": 1714003300,
  "type": "customer.subscription.updated",
  "data": {"object": {
    "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
    "cancel_at_period_end": true, "cancel_at": 1716595200, "canceled_at": 1714003000,
    "current_period_start": 1714003200, "current_period_end": 1716595200,
    "metadata": {"account_id": "user_42", "plan_id": "pro"},
    "items": {"object": "list", "data": [{
      "id": "si_1", "price": {"id": "price_pro_monthly"}, "plan": {"id": "price_pro_monthly"}
    }]}
  },
  "previous_attributes": {"cancel_at_period_end": false}}
})";

constexpr std::string_view kSubscriptionBasil = R"({
  "id": "evt_sub", "object": "event", "created": 1714003300,
  "type": "customer.subscription.updated",
  "data": {"object": {
    "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
    "cancel_at_period_end": true, "cancel_at": 1716595200, "canceled_at": 1714003000,
    "metadata": {"account_id": "user_42", "plan_id": "pro"},
    "items": {"object": "list", "data": [{
      "id": "si_1", "price": {"id": "price_pro_monthly"},
      "current_period_start": 1714003200, "current_period_end": 1716595200
    }]}
  }}
})";

TEST(StripeEventSubscription, Pre2025ShapeNormalizes) {
  const StripeEvent event = parse_ok(kSubscriptionPre2025);
  ASSERT_TRUE(event.subscription.has_value());
  EXPECT_FALSE(event.invoice.has_value());
  const webhooks::StripeSubscription& subscription = *event.subscription;
  EXPECT_EQ(subscription.id, "sub_1");
  EXPECT_EQ(subscription.customer, "cus_1");
  EXPECT_EQ(subscription.status, "active");
  EXPECT_TRUE(subscription.cancel_at_period_end);
  EXPECT_EQ(subscription.cancel_at_unix_s, 1716595200);
  EXPECT_EQ(subscription.canceled_at_unix_s, 1714003000);
  EXPECT_EQ(subscription.current_period_start_unix_s, 1714003200);
  EXPECT_EQ(subscription.current_period_end_unix_s, 1716595200);
  EXPECT_EQ(subscription.price_id, "price_pro_monthly");
  EXPECT_EQ(subscription.metadata_account_id, "user_42");
  EXPECT_EQ(subscription.metadata_plan_id, "pro");
}

TEST(StripeEventSubscription, BasilShapeEqualsPre2025Shape) {
  const StripeEvent basil = parse_ok(kSubscriptionBasil);
  ASSERT_TRUE(basil.subscription.has_value());
  EXPECT_EQ(basil.subscription->current_period_end_unix_s, 1716595200);
  EXPECT_TRUE(basil == parse_ok(kSubscriptionPre2025));
}

TEST(StripeEventSubscription, DeletedWithPlanOnlyAndNulls) {
  const StripeEvent event = parse_ok(event_with("customer.subscription.deleted", R"({
    "id": "sub_2", "customer": "cus_2", "status": "canceled", "cancel_at_period_end": false,
    "cancel_at": null, "canceled_at": 1714000000, "metadata": {},
    "items": {"data": [{"plan": {"id": "plan_old"}}]}})"));
  ASSERT_TRUE(event.subscription.has_value());
  EXPECT_EQ(event.subscription->status, "canceled");
  EXPECT_EQ(event.subscription->price_id, "plan_old");
  EXPECT_EQ(event.subscription->cancel_at_unix_s, std::nullopt);
  EXPECT_EQ(event.subscription->canceled_at_unix_s, 1714000000);
  EXPECT_EQ(event.subscription->current_period_start_unix_s, std::nullopt);
  EXPECT_EQ(event.subscription->metadata_account_id, "");
  EXPECT_TRUE(event.livemode);
}

TEST(StripeEventSubscription, CreatedIsParsedToo) {
  const StripeEvent event = parse_ok(
      event_with("customer.subscription.created", R"({"id": "sub_3", "status": "incomplete"})"));
  ASSERT_TRUE(event.subscription.has_value());
  EXPECT_EQ(event.subscription->status, "incomplete");
}

TEST(StripeEventCheckout, SessionNormalizes) {
  const StripeEvent event = parse_ok(event_with("checkout.session.completed", R"({
    "id": "cs_1", "object": "checkout.session", "client_reference_id": "user_42",
    "metadata": {"account_id": "user_42", "plan_id": "pro"},
    "customer": "cus_1", "subscription": "sub_1", "mode": "subscription",
    "payment_status": "paid"})"));
  ASSERT_TRUE(event.checkout.has_value());
  EXPECT_FALSE(event.invoice.has_value());
  EXPECT_FALSE(event.subscription.has_value());
  const webhooks::StripeCheckoutSession& session = *event.checkout;
  EXPECT_EQ(event.object_id, "cs_1");
  EXPECT_EQ(session.id, "cs_1");
  EXPECT_EQ(session.client_reference_id, "user_42");
  EXPECT_EQ(session.metadata_account_id, "user_42");
  EXPECT_EQ(session.metadata_plan_id, "pro");
  EXPECT_EQ(session.customer, "cus_1");
  EXPECT_EQ(session.subscription, "sub_1");
  EXPECT_EQ(session.mode, "subscription");
  EXPECT_EQ(session.payment_status, "paid");
}

TEST(StripeEventCheckout, NullsAndExpandedObjects) {
  const StripeEvent event = parse_ok(event_with("checkout.session.completed", R"({
    "id": "cs_2", "client_reference_id": null, "metadata": {"account_id": 42},
    "customer": {"id": "cus_2"}, "subscription": {"id": "sub_2", "items": {}},
    "mode": "subscription"})"));
  ASSERT_TRUE(event.checkout.has_value());
  EXPECT_EQ(event.checkout->client_reference_id, "");
  EXPECT_EQ(event.checkout->metadata_account_id, "42");
  EXPECT_EQ(event.checkout->customer, "cus_2");
  EXPECT_EQ(event.checkout->subscription, "sub_2");
  EXPECT_EQ(event.checkout->payment_status, "");
}

TEST(StripeEventOther, UnhandledTypeKeepsOnlyCommonFields) {
  const StripeEvent event =
      parse_ok(event_with("customer.created", R"({"id": "cus_9", "email": "a@b.c"})"));
  EXPECT_EQ(event.id, "evt_1");
  EXPECT_EQ(event.type, "customer.created");
  EXPECT_EQ(event.created_unix_s, 1714000000);
  EXPECT_EQ(event.object_id, "cus_9");
  EXPECT_FALSE(event.checkout || event.invoice || event.subscription);
}

TEST(StripeEventOther, SignatureVectorPayloads) {
  const StripeEvent invoice = parse_ok(webhooks_test::kStripeVectors[0].payload);
  ASSERT_TRUE(invoice.invoice.has_value());
  EXPECT_EQ(invoice.created_unix_s, 1700000000);
  EXPECT_EQ(invoice.invoice->id, "in_1");
  EXPECT_EQ(invoice.invoice->subscription, "");
  // The other vectors are signature fixtures only: they lack `created`.
  EXPECT_EQ(parse_error(webhooks_test::kStripeVectors[2].payload), "created: missing");
  EXPECT_EQ(parse_error(webhooks_test::kStripeVectors[4].payload), "created: missing");
}

TEST(StripeEventErrors, MissingRequiredFields) {
  EXPECT_EQ(parse_error(R"({"type":"invoice.paid","created":1,"data":{"object":{}}})"),
            "id: missing");
  EXPECT_EQ(parse_error(R"({"id":"evt","created":1,"data":{"object":{}}})"), "type: missing");
  EXPECT_EQ(parse_error(R"({"id":"evt","type":"x","data":{"object":{}}})"), "created: missing");
  EXPECT_EQ(parse_error(R"({"id":"evt","type":"x","created":1})"), "data.object: missing");
  EXPECT_EQ(parse_error(R"({"id":"evt","type":"x","created":1,"data":{}})"),
            "data.object: missing");
  EXPECT_EQ(parse_error(R"({"id":"evt","type":"x","created":1,"data":{"object":null}})"),
            "data.object: missing");
  EXPECT_EQ(parse_error(R"({"id":null,"type":"x","created":1,"data":{"object":{}}})"),
            "id: missing");
  EXPECT_EQ(parse_error(R"({"id":"","type":"x","created":1,"data":{"object":{}}})"),
            "id and type must be non-empty");
  // Handled types need the object's id.
  EXPECT_EQ(parse_error(event_with("invoice.paid", "{}")), "data.object.id: missing");
  EXPECT_EQ(parse_error(event_with("checkout.session.completed", R"({"mode":"payment"})")),
            "data.object.id: missing");
}

TEST(StripeEventErrors, WrongTypes) {
  EXPECT_EQ(parse_error(R"({"id":7,"type":"x","created":1,"data":{"object":{}}})"),
            "id: expected a string");
  EXPECT_EQ(parse_error(R"({"id":"e","type":["x"],"created":1,"data":{"object":{}}})"),
            "type: expected a string");
  EXPECT_EQ(parse_error(R"({"id":"e","type":"x","created":"1","data":{"object":{}}})"),
            "created: expected an integer in the int64 range");
  EXPECT_EQ(parse_error(R"({"id":"e","type":"x","created":1.5,"data":{"object":{}}})"),
            "created: expected an integer in the int64 range");
  EXPECT_EQ(parse_error(R"({"id":"e","type":"x","created":-1,"data":{"object":{}}})"),
            "created: must not be negative");
  EXPECT_EQ(parse_error(R"({"id":"e","type":"x","created":1,"data":"str"})"),
            "data: expected an object");
  EXPECT_EQ(parse_error(R"({"id":"e","type":"x","created":1,"data":{"object":[]}})"),
            "data.object: expected an object");
  EXPECT_EQ(parse_error(R"({"id":"e","type":"x","created":1,"data":{"object":{"id":5}}})"),
            "data.object.id: expected a string");
  EXPECT_EQ(parse_error(event_with("invoice.paid", R"({"id":"in","amount_paid":"1999"})")),
            "data.object.amount_paid: expected an integer in the int64 range");
  EXPECT_EQ(parse_error(event_with("invoice.paid", R"({"id":"in","customer":12})")),
            "data.object.customer: expected a string id or an object with an id");
  EXPECT_EQ(parse_error(event_with("invoice.paid", R"({"id":"in","subscription":{"object":"x"}})")),
            "data.object.subscription.id: missing");
  EXPECT_EQ(parse_error(event_with("invoice.paid", R"({"id":"in","lines":"many"})")),
            "data.object.lines: expected an object");
  EXPECT_EQ(parse_error(event_with("invoice.paid", R"({"id":"in","lines":{"data":{}}})")),
            "data.object.lines.data: expected an array");
  EXPECT_EQ(parse_error(event_with("invoice.paid", R"({"id":"in","metadata":{"account_id":{}}})")),
            "data.object.metadata.account_id: expected a string or an integer");
  EXPECT_EQ(parse_error(event_with("customer.subscription.updated",
                                   R"({"id":"sub","cancel_at_period_end":"true"})")),
            "data.object.cancel_at_period_end: expected a boolean");
  EXPECT_EQ(
      parse_error(event_with("customer.subscription.updated",
                             R"({"id":"sub","items":{"data":[{"current_period_end":"soon"}]}})")),
      "data.object.items.data[0].current_period_end: expected an integer in the int64 range");
  EXPECT_EQ(
      parse_error(R"({"id":"e","type":"x","created":1,"livemode":"yes","data":{"object":{}}})"),
      "livemode: expected a boolean");
}

TEST(StripeEventErrors, HugeNumbers) {
  const std::string created_overflow =
      R"({"id":"e","type":"x","created":9223372036854775808,"data":{"object":{}}})";
  EXPECT_EQ(parse_error(created_overflow), "created: expected an integer in the int64 range");
  EXPECT_EQ(parse_error(R"({"id":"e","type":"x","created":1e20,"data":{"object":{}}})"),
            "created: expected an integer in the int64 range");
  EXPECT_EQ(parse_error(R"({"id":"e","type":"x","created":123456789012345678901234567890,)"
                        R"("data":{"object":{}}})"),
            "created: expected an integer in the int64 range");
  EXPECT_NE(parse_error(R"({"id":"e","type":"x","created":1e400,"data":{"object":{}}})")
                .find("invalid JSON"),
            std::string::npos);
  EXPECT_EQ(
      parse_error(event_with("invoice.paid", R"({"id":"in","amount_paid":-9223372036854775809})")),
      "data.object.amount_paid: expected an integer in the int64 range");
}

TEST(StripeEventErrors, GarbageIsAnErrorValue) {
  const std::string cases[] = {
      "",
      " ",
      "null",
      "[]",
      "42",
      "\"evt\"",
      "{",
      "{\"id\":",
      "{}x",
      "{}{}",
      "{'id':'e'}",
      "{\"id\":NaN}",
      "\xff\xfe{}",
      std::string("{\"id\":\"e\0\"}", 11),
      "{\"id\":\"\xc3\x28\"}",
      "{\"id\":\"e\",}",
      "[[[[[[]]]]",
      "\"unterminated",
      "}}}}]]]]",
  };
  for (const std::string& body : cases) {
    parse_error(body);
  }
  EXPECT_EQ(parse_error("[]"), "event: expected a JSON object");
  EXPECT_NE(parse_error("{").find("invalid JSON"), std::string::npos);
}

// Escapes that unescape to bytes PostgreSQL refuses (a lone surrogate, NUL) anywhere in the
// event, even in fields the parser ignores, make the whole delivery invalid.
TEST(StripeEventErrors, EscapesThatAreNotStorableTextAreRefused) {
  for (const char* escaped : {"\\udc00", "\\ud800", "\\u0000", "x\\udfffy"}) {
    const std::string body = event_with(
        "invoice.paid", R"({"id":"in_1","customer":"cus_)" + std::string(escaped) + R"("})");
    EXPECT_NE(parse_error(body).find("invalid JSON"), std::string::npos) << escaped;
    const std::string ignored_field = event_with(
        "invoice.paid", R"({"id":"in_1","note":")" + std::string(escaped) + R"("})");
    EXPECT_NE(parse_error(ignored_field).find("invalid JSON"), std::string::npos) << escaped;
  }
}

// An event whose data.object holds `levels` nested arrays; the event itself adds 3 levels.
std::string event_nested(int levels) {
  return R"({"id":"e","type":"x","created":1,"data":{"object":{"deep":)" +
         std::string(static_cast<std::size_t>(levels), '[') +
         std::string(static_cast<std::size_t>(levels), ']') + "}}}";
}

TEST(StripeEventLimits, NestingUpTo64LevelsIsAccepted) {
  EXPECT_EQ(parse_ok(event_nested(webhooks::kWebhookJsonDepthMax - 3)).type, "x");
}

TEST(StripeEventLimits, NestingBeyond64LevelsIsRejected) {
  EXPECT_EQ(parse_error(event_nested(webhooks::kWebhookJsonDepthMax - 2)),
            "JSON nests deeper than 64 levels");
  EXPECT_EQ(parse_error(std::string(200000, '[') + std::string(200000, ']')),
            "JSON nests deeper than 64 levels");
  EXPECT_EQ(parse_error(std::string(200000, '{')), "JSON nests deeper than 64 levels");
}

TEST(StripeEventLimits, BracketsInsideStringsDoNotCountAsNesting) {
  const std::string brackets(1000, '[');
  const StripeEvent event =
      parse_ok(event_with("customer.created", R"({"id":"cus_\"[)" + brackets + R"("})"));
  EXPECT_EQ(event.object_id, "cus_\"[" + brackets);
}

TEST(StripeEventLimits, BodiesOver1MiBAreRejected) {
  const std::string prefix = R"({"id":"e","type":"x","created":1,"data":{"object":{"pad":")";
  const std::string suffix = R"("}}})";
  const std::size_t pad_bytes = webhooks::kWebhookBodyBytesMax - prefix.size() - suffix.size();
  const std::string at_limit = prefix + std::string(pad_bytes, 'a') + suffix;
  ASSERT_EQ(at_limit.size(), webhooks::kWebhookBodyBytesMax);
  EXPECT_EQ(parse_ok(at_limit).type, "x");
  const std::string over_limit = prefix + std::string(pad_bytes + 1, 'a') + suffix;
  EXPECT_EQ(parse_error(over_limit), "body exceeds 1048576 bytes");
}

}  // namespace
