// webhooks/stripe_billing.h: which fields of each Stripe object feed the billing command,
// which account the event names, and which plan it is for (the price wins over metadata).
#include "webhooks/stripe_billing.h"

#include <gtest/gtest.h>

#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"

namespace billing_tests {
namespace {

webhooks::StripeEvent parsed(const std::string& body) {
  auto result = webhooks::parse_stripe_event(body);
  if (const auto* error = std::get_if<std::string>(&result)) {
    ADD_FAILURE() << *error;
    return {};
  }
  return std::get<webhooks::StripeEvent>(std::move(result));
}

ledger::PlanCatalog plans() {
  return std::get<ledger::PlanCatalog>(ledger::PlanCatalog::parse(billing_plans_json()));
}

constexpr int64_t kPeriod0S = 1'760'000'000;

TEST(StripeBillingMapping, HandledTypesAreTheFiveOfTheDesign) {
  for (const char* type : {"checkout.session.completed", "invoice.paid", "invoice.payment_failed",
                           "customer.subscription.updated", "customer.subscription.deleted"}) {
    EXPECT_TRUE(webhooks::is_handled_stripe_event_type(type)) << type;
  }
  for (const char* type : {"customer.created", "customer.subscription.created", "invoice.created",
                           "checkout.session.expired", ""}) {
    EXPECT_FALSE(webhooks::is_handled_stripe_event_type(type)) << type;
  }
}

TEST(StripeBillingMapping, CheckoutNamesItsAccountAndPlan) {
  const webhooks::StripeBillingMapping mapping = webhooks::map_stripe_event(
      parsed(checkout_completed("evt_c", kPeriod0S, subscriber("m1"), "business")));
  EXPECT_EQ(mapping.event.stripe_event_id, "evt_c");
  EXPECT_EQ(mapping.event.type, "checkout.session.completed");
  EXPECT_EQ(mapping.event.created_s, kPeriod0S);
  EXPECT_EQ(mapping.event.subscription_id, "sub_m1");
  EXPECT_EQ(mapping.event.customer_id, "cus_m1");
  EXPECT_EQ(mapping.account_hint, "acct-m1");
  EXPECT_EQ(mapping.ignore_reason, "");
  EXPECT_EQ(webhooks::resolve_stripe_plan(mapping, plans()), "business");
}

TEST(StripeBillingMapping, InvoiceFieldsInBothShapes) {
  for (const Shape shape : {Shape::kPre2025, Shape::kBasil}) {
    const webhooks::StripeBillingMapping mapping = webhooks::map_stripe_event(parsed(
        invoice_event("invoice.paid", "evt_i", kPeriod0S + kMonthS + 5, subscriber("m2"),
                      "price_business_yearly", "subscription_cycle", kPeriod0S + kMonthS, shape)));
    EXPECT_EQ(mapping.event.subscription_id, "sub_m2");
    EXPECT_EQ(mapping.event.customer_id, "cus_m2");
    EXPECT_EQ(mapping.event.billing_reason, "subscription_cycle");
    EXPECT_EQ(mapping.event.period_start_s, kPeriod0S + kMonthS);  // the line's, not the invoice's
    EXPECT_EQ(mapping.event.period_end_s, kPeriod0S + 2 * kMonthS);
    EXPECT_EQ(mapping.event.invoice_id, "in_evt_i");
    EXPECT_EQ(mapping.account_hint, "acct-m2");
    EXPECT_EQ(mapping.price_id, "price_business_yearly");
    EXPECT_EQ(webhooks::resolve_stripe_plan(mapping, plans()), "business");
  }
}

TEST(StripeBillingMapping, ThePriceWinsOverMetadataPlan) {
  webhooks::StripeBillingMapping mapping;
  mapping.price_id = "price_pro_monthly";
  mapping.metadata_plan_id = "business";
  EXPECT_EQ(webhooks::resolve_stripe_plan(mapping, plans()), "pro");
  mapping.price_id = "price_unknown";  // not sold by any plan: the metadata then
  EXPECT_EQ(webhooks::resolve_stripe_plan(mapping, plans()), "business");
  mapping.metadata_plan_id = "platinum";  // neither known: keep the current plan
  EXPECT_EQ(webhooks::resolve_stripe_plan(mapping, plans()), "");
}

TEST(StripeBillingMapping, SubscriptionPeriodStatusAndCancelFlagInBothShapes) {
  for (const Shape shape : {Shape::kPre2025, Shape::kBasil}) {
    const webhooks::StripeBillingMapping mapping =
        webhooks::map_stripe_event(parsed(subscription_event(
            "customer.subscription.updated", "evt_s", kPeriod0S + 9, subscriber("m3"),
            "price_pro_monthly", "past_due", kPeriod0S, true, shape)));
    EXPECT_EQ(mapping.event.subscription_id, "sub_m3");
    EXPECT_EQ(mapping.event.status, "past_due");
    EXPECT_TRUE(mapping.event.cancel_at_period_end);
    EXPECT_EQ(mapping.event.period_start_s, kPeriod0S);
    EXPECT_EQ(mapping.event.period_end_s, kPeriod0S + kMonthS);
    EXPECT_EQ(mapping.account_hint, "acct-m3");
    EXPECT_EQ(webhooks::resolve_stripe_plan(mapping, plans()), "pro");
  }
}

TEST(StripeBillingMapping, WhatWeDoNotBillIsIgnoredWithAReason) {
  EXPECT_EQ(webhooks::map_stripe_event(
                parsed(checkout_completed("evt_u", kPeriod0S, subscriber("m4"), "pro", "unpaid")))
                .ignore_reason,
            "checkout_unpaid");
  std::string payment_mode = checkout_completed("evt_p", kPeriod0S, subscriber("m5"), "pro");
  payment_mode.replace(payment_mode.find(R"("mode": "subscription")"), 22,
                       R"("mode": "payment"     )");
  EXPECT_EQ(webhooks::map_stripe_event(parsed(payment_mode)).ignore_reason,
            "checkout_not_a_subscription");
}

TEST(StripeBillingMapping, AccountHintsOutsideTheAccountAlphabetAreDropped) {
  Subscriber who = subscriber("m6");
  who.account = "bad account/with spaces";
  const webhooks::StripeBillingMapping mapping =
      webhooks::map_stripe_event(parsed(checkout_completed("evt_b", kPeriod0S, who, "pro")));
  EXPECT_EQ(mapping.account_hint, "");  // looked up by subscription or customer instead
  EXPECT_TRUE(webhooks::is_valid_stripe_account_hint("user_42@x.io:1-2"));
  EXPECT_FALSE(webhooks::is_valid_stripe_account_hint(std::string(129, 'a')));
  EXPECT_FALSE(webhooks::is_valid_stripe_account_hint(""));
}

}  // namespace
}  // namespace billing_tests
