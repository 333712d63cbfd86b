// Stripe event bodies (stripe_payloads.h), built from templates with @NAME@ placeholders.
#include "tests/billing/stripe_payloads.h"

#include <stdexcept>
#include <utility>

namespace billing_tests {
namespace {

using Substitutions = std::vector<std::pair<std::string, std::string>>;

std::string fill(std::string text, const Substitutions& substitutions) {
  for (const auto& [name, value] : substitutions) {
    const std::string placeholder = "@" + name + "@";
    for (std::size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  for (std::size_t at = text.find('@'); at != std::string::npos; at = text.find('@', at + 1)) {
    std::size_t end = at + 1;
    while (end < text.size() && ((text[end] >= 'A' && text[end] <= 'Z') || text[end] == '_')) ++end;
    if (end > at + 1 && end < text.size() && text[end] == '@') {
      throw std::logic_error("unfilled placeholder " + text.substr(at, end - at + 1));
    }
  }
  return text;
}

std::string api_version(Shape shape) {
  return shape == Shape::kBasil ? "2025-03-31.basil" : "2024-06-20";
}

std::string plan_of(const std::string& price) {
  return price.find("business") != std::string::npos ? "business" : "pro";
}

std::string metadata(const Subscriber& who, const std::string& plan) {
  if (!who.with_metadata) return "{}";
  return R"({"account_id": ")" + who.account + R"(", "plan_id": ")" + plan + R"("})";
}

std::string event_envelope(const std::string& type, const std::string& event_id, int64_t created_s,
                           Shape shape, const std::string& object_json,
                           const std::string& previous_attributes = "") {
  const std::string data = previous_attributes.empty()
                               ? R"({"object": @OBJECT@})"
                               : R"({"object": @OBJECT@, "previous_attributes": @PREVIOUS@})";
  return fill(R"({
  "id": "@ID@",
  "object": "event",
  "api_version": "@API@",
  "created": @CREATED@,
  "data": )" + data +
                  R"(,
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null},
  "type": "@TYPE@"
})",
              {{"ID", event_id},
               {"API", api_version(shape)},
               {"CREATED", std::to_string(created_s)},
               {"TYPE", type},
               {"PREVIOUS", previous_attributes},
               {"OBJECT", object_json}});
}

}  // namespace

Subscriber subscriber(const std::string& tag) {
  return Subscriber{"acct-" + tag, "sub_" + tag, "cus_" + tag, true};
}

std::string checkout_completed(const std::string& event_id, int64_t created_s,
                               const Subscriber& who, const std::string& plan_id,
                               const std::string& payment_status) {
  const std::string object =
      fill(R"({
    "id": "cs_test_@SUB@",
    "object": "checkout.session",
    "amount_subtotal": 1999,
    "amount_total": 1999,
    "cancel_url": "https://app.wwai.ai/billing/cancel",
    "client_reference_id": @CLIENT_REFERENCE@,
    "created": @SESSION_CREATED@,
    "currency": "usd",
    "customer": "@CUS@",
    "customer_creation": "always",
    "customer_details": {"email": "buyer@example.com", "name": "Ada Buyer", "tax_exempt": "none"},
    "expires_at": @EXPIRES@,
    "invoice": "in_first_@SUB@",
    "livemode": false,
    "metadata": @METADATA@,
    "mode": "subscription",
    "payment_intent": null,
    "payment_status": "@PAYMENT_STATUS@",
    "status": "complete",
    "subscription": "@SUB@",
    "success_url": "https://app.wwai.ai/billing/success?session_id={CHECKOUT_SESSION_ID}",
    "url": null
  })",
           {{"SUB", who.subscription},
            {"CUS", who.customer},
            {"CLIENT_REFERENCE", who.with_metadata ? "\"" + who.account + "\"" : "null"},
            {"SESSION_CREATED", std::to_string(created_s - 60)},
            {"EXPIRES", std::to_string(created_s + kDayS)},
            {"METADATA", metadata(who, plan_id)},
            {"PAYMENT_STATUS", payment_status}});
  return event_envelope("checkout.session.completed", event_id, created_s, Shape::kPre2025, object);
}

std::string pack_checkout_event(const std::string& type, const std::string& event_id,
                                int64_t created_s, const std::string& account,
                                const std::string& pack_id, const std::string& tag,
                                const std::string& payment_status) {
  const std::string object = fill(R"({
    "id": "cs_pack_@TAG@",
    "object": "checkout.session",
    "amount_subtotal": 900,
    "amount_total": 900,
    "cancel_url": "https://app.wwai.ai/billing/cancel",
    "client_reference_id": "@ACCOUNT@",
    "created": @SESSION_CREATED@,
    "currency": "usd",
    "customer": null,
    "customer_creation": "if_required",
    "customer_details": {"email": "pack@example.com", "name": "Pat Pack", "tax_exempt": "none"},
    "expires_at": @EXPIRES@,
    "invoice": null,
    "livemode": false,
    "metadata": {"account_id": "@ACCOUNT@", "pack_id": "@PACK@"},
    "mode": "payment",
    "payment_intent": "pi_@TAG@",
    "payment_status": "@PAYMENT_STATUS@",
    "status": "complete",
    "subscription": null,
    "success_url": "https://app.wwai.ai/billing/success?session_id={CHECKOUT_SESSION_ID}",
    "url": null
  })",
                                  {{"TAG", tag},
                                   {"ACCOUNT", account},
                                   {"PACK", pack_id},
                                   {"SESSION_CREATED", std::to_string(created_s - 60)},
                                   {"EXPIRES", std::to_string(created_s + kDayS)},
                                   {"PAYMENT_STATUS", payment_status}});
  return event_envelope(type, event_id, created_s, Shape::kPre2025, object);
}

std::string charge_refunded_event(const std::string& event_id, int64_t created_s,
                                  const std::string& account, const std::string& tag,
                                  int64_t amount_minor, int64_t refunded_minor, bool refunded,
                                  const std::string& pack_id) {
  std::string metadata = "{";
  if (!account.empty()) metadata += R"("account_id": ")" + account + "\"";
  if (!pack_id.empty()) {
    metadata += std::string(account.empty() ? "" : ", ") + R"("pack_id": ")" + pack_id + "\"";
  }
  metadata += "}";
  const std::string object = fill(R"({
    "id": "ch_@TAG@",
    "object": "charge",
    "amount": @AMOUNT@,
    "amount_captured": @AMOUNT@,
    "amount_refunded": @REFUNDED_AMOUNT@,
    "captured": true,
    "created": @CHARGE_CREATED@,
    "currency": "usd",
    "customer": null,
    "livemode": false,
    "metadata": @METADATA@,
    "paid": true,
    "payment_intent": "pi_@TAG@",
    "refunded": @REFUNDED@,
    "status": "succeeded"
  })",
                                  {{"TAG", tag},
                                   {"AMOUNT", std::to_string(amount_minor)},
                                   {"REFUNDED_AMOUNT", std::to_string(refunded_minor)},
                                   {"CHARGE_CREATED", std::to_string(created_s - kDayS)},
                                   {"METADATA", metadata},
                                   {"REFUNDED", refunded ? "true" : "false"}});
  return event_envelope("charge.refunded", event_id, created_s, Shape::kPre2025, object);
}

std::string invoice_event(const std::string& type, const std::string& event_id, int64_t created_s,
                          const Subscriber& who, const std::string& price,
                          const std::string& billing_reason, int64_t period_start_s, Shape shape) {
  const std::string plan = plan_of(price);
  // For a renewal the invoice's own period is the previous one; the line's is the new one.
  const int64_t invoice_period_start_s =
      billing_reason == "subscription_create" ? period_start_s : period_start_s - kMonthS;
  const bool paid = type == "invoice.paid";
  Substitutions values = {{"INVOICE", "in_" + event_id},
                          {"SUB", who.subscription},
                          {"CUS", who.customer},
                          {"REASON", billing_reason},
                          {"CREATED", std::to_string(created_s)},
                          {"INV_START", std::to_string(invoice_period_start_s)},
                          {"INV_END", std::to_string(period_start_s)},
                          {"LINE_START", std::to_string(period_start_s)},
                          {"LINE_END", std::to_string(period_start_s + kMonthS)},
                          {"PRICE", price},
                          {"PRODUCT", "prod_" + plan},
                          {"METADATA", metadata(who, plan)},
                          {"STATUS", paid ? "paid" : "open"},
                          {"PAID", paid ? "1999" : "0"},
                          {"ATTEMPT", paid ? "1" : "2"}};
  const std::string pre_2025 = R"({
    "id": "@INVOICE@",
    "object": "invoice",
    "account_country": "US",
    "amount_due": 1999,
    "amount_paid": @PAID@,
    "amount_remaining": 0,
    "attempt_count": @ATTEMPT@,
    "billing_reason": "@REASON@",
    "collection_method": "charge_automatically",
    "created": @CREATED@,
    "currency": "usd",
    "customer": "@CUS@",
    "customer_email": "buyer@example.com",
    "lines": {
      "object": "list",
      "data": [{
        "id": "il_@INVOICE@",
        "object": "line_item",
        "amount": 1999,
        "currency": "usd",
        "description": "1 × plan at $19.99 per month",
        "metadata": @METADATA@,
        "period": {"end": @LINE_END@, "start": @LINE_START@},
        "plan": {"id": "@PRICE@", "object": "plan", "interval": "month", "product": "@PRODUCT@"},
        "price": {"id": "@PRICE@", "object": "price", "currency": "usd", "product": "@PRODUCT@",
                  "recurring": {"interval": "month", "interval_count": 1},
                  "type": "recurring", "unit_amount": 1999},
        "proration": false,
        "quantity": 1,
        "subscription": "@SUB@",
        "subscription_item": "si_@SUB@",
        "type": "subscription"
      }],
      "has_more": false,
      "total_count": 1,
      "url": "/v1/invoices/@INVOICE@/lines"
    },
    "livemode": false,
    "metadata": {},
    "paid": true,
    "period_end": @INV_END@,
    "period_start": @INV_START@,
    "status": "@STATUS@",
    "subscription": "@SUB@",
    "subscription_details": {"metadata": @METADATA@},
    "total": 1999
  })";
  const std::string basil = R"({
    "id": "@INVOICE@",
    "object": "invoice",
    "account_country": "US",
    "amount_due": 1999,
    "amount_paid": @PAID@,
    "amount_remaining": 0,
    "attempt_count": @ATTEMPT@,
    "billing_reason": "@REASON@",
    "collection_method": "charge_automatically",
    "created": @CREATED@,
    "currency": "usd",
    "customer": "@CUS@",
    "customer_email": "buyer@example.com",
    "lines": {
      "object": "list",
      "data": [{
        "id": "il_@INVOICE@",
        "object": "line_item",
        "amount": 1999,
        "currency": "usd",
        "description": "1 × plan at $19.99 per month",
        "invoice": "@INVOICE@",
        "metadata": {},
        "parent": {
          "invoice_item_details": null,
          "subscription_item_details": {"invoice_item": null, "proration": false,
                                        "proration_details": {"credited_items": null},
                                        "subscription": "@SUB@",
                                        "subscription_item": "si_@SUB@"},
          "type": "subscription_item_details"
        },
        "period": {"end": @LINE_END@, "start": @LINE_START@},
        "pricing": {"price_details": {"price": "@PRICE@", "product": "@PRODUCT@"},
                    "type": "price_details", "unit_amount_decimal": "1999"},
        "quantity": 1
      }],
      "has_more": false,
      "total_count": 1,
      "url": "/v1/invoices/@INVOICE@/lines"
    },
    "livemode": false,
    "metadata": {},
    "parent": {
      "quote_details": null,
      "subscription_details": {"metadata": @METADATA@, "subscription": "@SUB@"},
      "type": "subscription_details"
    },
    "period_end": @INV_END@,
    "period_start": @INV_START@,
    "status": "@STATUS@",
    "total": 1999
  })";
  return event_envelope(type, event_id, created_s, shape,
                        fill(shape == Shape::kBasil ? basil : pre_2025, values));
}

std::string subscription_event(const std::string& type, const std::string& event_id,
                               int64_t created_s, const Subscriber& who, const std::string& price,
                               const std::string& status, int64_t period_start_s,
                               bool cancel_at_period_end, Shape shape) {
  const std::string plan = plan_of(price);
  const bool deleted = type == "customer.subscription.deleted";
  const Substitutions values = {{"SUB", who.subscription},
                                {"CUS", who.customer},
                                {"STATUS", status},
                                {"CANCEL_AT_END", cancel_at_period_end ? "true" : "false"},
                                {"CANCELED_AT", deleted ? std::to_string(created_s) : "null"},
                                {"ENDED_AT", deleted ? std::to_string(created_s) : "null"},
                                {"START", std::to_string(period_start_s)},
                                {"END", std::to_string(period_start_s + kMonthS)},
                                {"PRICE", price},
                                {"PRODUCT", "prod_" + plan},
                                {"METADATA", metadata(who, plan)}};
  const std::string period_top =
      shape == Shape::kPre2025 ? R"("current_period_end": @END@, "current_period_start": @START@,)"
                               : "";
  const std::string period_item =
      shape == Shape::kBasil ? R"("current_period_end": @END@, "current_period_start": @START@,)"
                             : "";
  const std::string object = fill(R"({
    "id": "@SUB@",
    "object": "subscription",
    "billing_cycle_anchor": @START@,
    "cancel_at": null,
    "cancel_at_period_end": @CANCEL_AT_END@,
    "canceled_at": @CANCELED_AT@,
    "collection_method": "charge_automatically",
    "created": @START@,
    "currency": "usd",
    )" + period_top + R"(
    "customer": "@CUS@",
    "ended_at": @ENDED_AT@,
    "items": {
      "object": "list",
      "data": [{
        "id": "si_@SUB@",
        "object": "subscription_item",
        )" + period_item + R"(
        "metadata": {},
        "plan": {"id": "@PRICE@", "object": "plan", "interval": "month", "product": "@PRODUCT@"},
        "price": {"id": "@PRICE@", "object": "price", "currency": "usd", "product": "@PRODUCT@",
                  "recurring": {"interval": "month", "interval_count": 1},
                  "type": "recurring", "unit_amount": 1999},
        "quantity": 1,
        "subscription": "@SUB@"
      }],
      "has_more": false,
      "total_count": 1,
      "url": "/v1/subscription_items?subscription=@SUB@"
    },
    "latest_invoice": "in_latest_@SUB@",
    "livemode": false,
    "metadata": @METADATA@,
    "start_date": @START@,
    "status": "@STATUS@"
  })",
                                  values);
  const std::string previous = deleted ? "" : R"({"items": {"object": "list", "data": []}})";
  return event_envelope(type, event_id, created_s, shape, object, previous);
}

std::string customer_created(const std::string& event_id, int64_t created_s,
                             const std::string& customer) {
  const std::string object = fill(R"({
    "id": "@CUS@", "object": "customer", "created": @CREATED@, "email": "buyer@example.com",
    "invoice_settings": {"default_payment_method": null}, "livemode": false, "metadata": {}
  })",
                                  {{"CUS", customer}, {"CREATED", std::to_string(created_s)}});
  return event_envelope("customer.created", event_id, created_s, Shape::kPre2025, object);
}

std::vector<std::string> life_of_a_subscription(const Subscriber& who, const std::string& tag,
                                                int64_t period0_s, Shape shape) {
  const auto id = [&tag](int n) { return "evt_" + tag + "_" + std::to_string(n); };
  const int64_t period1_s = period0_s + kMonthS;
  return {
      checkout_completed(id(0), period0_s + 10, who, "pro"),
      invoice_event("invoice.paid", id(1), period0_s + 11, who, "price_pro_monthly",
                    "subscription_create", period0_s, shape),
      subscription_event("customer.subscription.updated", id(2), period0_s + 5 * kDayS, who,
                         "price_business_monthly", "active", period0_s, false, shape),
      invoice_event("invoice.paid", id(3), period1_s + 3600, who, "price_business_monthly",
                    "subscription_cycle", period1_s, shape),
      subscription_event("customer.subscription.deleted", id(4), period1_s + 10 * kDayS, who,
                         "price_business_monthly", "canceled", period1_s, false, shape),
  };
}

}  // namespace billing_tests
