// Stripe event -> StripeBillingEvent mapping (see stripe_billing.h).
#include "webhooks/stripe_billing.h"

#include <array>
#include <cassert>

#include "webhooks/json_reader.h"

namespace webhooks {
namespace {

constexpr std::size_t kAccountIdLengthMax = 128;

constexpr std::array<std::string_view, 7> kHandledTypes = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "charge.refunded"};

std::string valid_hint(const std::string& candidate) {
  return is_valid_stripe_account_hint(candidate) ? candidate : std::string();
}

void map_checkout(const StripeCheckoutSession& session, StripeBillingMapping& mapping) {
  mapping.event.customer_id = session.customer;
  mapping.event.subscription_id = session.subscription;
  mapping.account_hint =
      valid_hint(first_non_empty({session.client_reference_id, session.metadata_account_id}));
  mapping.metadata_plan_id = session.metadata_plan_id;
  if (session.mode == "payment" && !session.metadata_pack_id.empty()) {
    // A pack: granted once its payment is in (now, or with async_payment_succeeded).
    if (session.payment_status != "paid" && session.payment_status != "no_payment_required") {
      mapping.ignore_reason = "checkout_unpaid";
      return;
    }
    mapping.event.pack_id = session.metadata_pack_id;
    mapping.event.payment_reference = first_non_empty({session.payment_intent, session.id});
    return;
  }
  if (mapping.event.type == "checkout.session.async_payment_succeeded") {
    // A subscription's delayed payment: its first paid invoice starts it.
    mapping.ignore_reason = "subscription_paid_by_invoice";
  } else if (session.mode != "subscription" || session.subscription.empty()) {
    mapping.ignore_reason = "checkout_not_a_subscription";
  } else if (session.payment_status == "unpaid") {
    // A delayed payment method: the subscription starts with its first paid invoice.
    mapping.ignore_reason = "checkout_unpaid";
  }
}

void map_invoice(const StripeInvoice& invoice, StripeBillingMapping& mapping) {
  mapping.event.customer_id = invoice.customer;
  mapping.event.subscription_id = invoice.subscription;
  mapping.event.billing_reason = invoice.billing_reason;
  mapping.event.period_start_s = invoice.period_start_unix_s.value_or(0);
  mapping.event.period_end_s = invoice.period_end_unix_s.value_or(0);
  mapping.event.invoice_id = invoice.id;
  mapping.account_hint = valid_hint(invoice.metadata_account_id);
  mapping.price_id = invoice.price_id;
  mapping.metadata_plan_id = invoice.metadata_plan_id;
  if (invoice.subscription.empty()) mapping.ignore_reason = "invoice_without_subscription";
}

void map_subscription(const StripeSubscription& subscription, StripeBillingMapping& mapping) {
  mapping.event.customer_id = subscription.customer;
  mapping.event.subscription_id = subscription.id;
  mapping.event.status = subscription.status;
  mapping.event.period_start_s = subscription.current_period_start_unix_s.value_or(0);
  mapping.event.period_end_s = subscription.current_period_end_unix_s.value_or(0);
  mapping.event.cancel_at_period_end = subscription.cancel_at_period_end;
  mapping.account_hint = valid_hint(subscription.metadata_account_id);
  mapping.price_id = subscription.price_id;
  mapping.metadata_plan_id = subscription.metadata_plan_id;
}

// A refund of a charge: the ledger takes back what is unspent of the pack it paid for (a
// charge that paid no pack changes nothing).
void map_charge(const StripeCharge& charge, StripeBillingMapping& mapping) {
  mapping.event.customer_id = charge.customer;
  mapping.account_hint = valid_hint(charge.metadata_account_id);
  mapping.event.payment_reference = charge.payment_intent;
  mapping.event.charge_id = charge.id;
  mapping.event.charge_amount_minor = charge.amount_minor.value_or(0);
  mapping.event.charge_refunded_minor = charge.amount_refunded_minor.value_or(0);
  mapping.event.charge_fully_refunded = charge.refunded;
  mapping.charge_pack_id = charge.metadata_pack_id;
  if (charge.payment_intent.empty()) mapping.ignore_reason = "charge_without_payment_intent";
}

}  // namespace

bool is_handled_stripe_event_type(std::string_view type) {
  for (const std::string_view handled : kHandledTypes) {
    if (type == handled) return true;
  }
  return false;
}

bool is_valid_stripe_account_hint(std::string_view account_id) {
  if (account_id.empty() || account_id.size() > kAccountIdLengthMax) return false;
  for (const char c : account_id) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '@' ||
                         c == '-';
    if (!allowed) return false;
  }
  return true;
}

StripeBillingMapping map_stripe_event(const StripeEvent& event) {
  assert(is_handled_stripe_event_type(event.type));
  StripeBillingMapping mapping;
  mapping.event.stripe_event_id = event.id;
  mapping.event.type = event.type;
  mapping.event.created_s = event.created_unix_s;
  if (event.checkout) {
    map_checkout(*event.checkout, mapping);
  } else if (event.invoice) {
    map_invoice(*event.invoice, mapping);
  } else if (event.charge) {
    map_charge(*event.charge, mapping);
  } else {
    assert(event.subscription.has_value());
    map_subscription(*event.subscription, mapping);
  }
  assert(mapping.account_hint.empty() || is_valid_stripe_account_hint(mapping.account_hint));
  return mapping;
}

std::string resolve_stripe_plan(const StripeBillingMapping& mapping,
                                const ledger::PlanCatalog& plans) {
  if (const ledger::Plan* plan = plans.find_by_stripe_price(mapping.price_id)) return plan->id;
  if (const ledger::Plan* plan = plans.find(mapping.metadata_plan_id)) return plan->id;
  return {};
}

}  // namespace webhooks
