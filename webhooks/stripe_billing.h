// From a parsed Stripe event to the ledger's StripeBillingEvent command: which event types
// the ledger acts on, which fields of each shape feed which command field, which account the
// event names itself, and which plan it is for. Pure: no I/O (the account lookup by
// subscription or customer and the submission live in webhooks/stripe_inbox.h).
#pragma once

#include <string>
#include <string_view>

#include "ledger/commands.h"
#include "ledger/plans.h"
#include "webhooks/stripe_event.h"

namespace webhooks {

// True for the five types of DESIGN.md "Webhooks" (checkout.session.completed, invoice.paid,
// invoice.payment_failed, customer.subscription.updated, customer.subscription.deleted) and
// the two of packs (checkout.session.async_payment_succeeded, charge.refunded).
// Deliveries of any other type are stored and acknowledged, never applied.
bool is_handled_stripe_event_type(std::string_view type);

struct StripeBillingMapping {
  // The command, complete except for `plan_id` (see resolve_stripe_plan).
  ledger::StripeBillingEvent event;
  // The account the event names itself: a checkout's client_reference_id, else the
  // metadata.account_id of the session, invoice (its own, its subscription's, its first
  // line's) or subscription. Empty when absent or not a valid account id: the account is
  // then looked up by subscription or customer id.
  std::string account_hint;
  std::string price_id;          // The price on the invoice or subscription; "" for a checkout.
  std::string metadata_plan_id;  // metadata.plan_id, set by our checkout.
  // charge.refunded: the charge's metadata.pack_id (our pack checkout sets it on the payment
  // intent): a refund of a pack, to hold back until the pack's grant is in.
  std::string charge_pack_id;
  // Non-empty when the event is of a handled type but not about a subscription or pack we
  // bill (a checkout in payment mode without a pack or not paid yet, an invoice without a
  // subscription, a charge without a payment intent): the delivery is then acknowledged and
  // marked ignored with this reason.
  std::string ignore_reason;
};

// Maps `event`. Precondition: is_handled_stripe_event_type(event.type) and the parser set
// the object of that type (parse_stripe_event guarantees it).
StripeBillingMapping map_stripe_event(const StripeEvent& event);

// The plan the event is for: the plan sold under its price wins (the price is what Stripe
// bills); else metadata.plan_id when it names a plan of the catalog; else "" (the ledger
// then keeps the subscription's current plan).
std::string resolve_stripe_plan(const StripeBillingMapping& mapping,
                                const ledger::PlanCatalog& plans);

// True for 1..128 characters of [A-Za-z0-9_.:@-] (the account id alphabet of ledgerd).
bool is_valid_stripe_account_hint(std::string_view account_id);

}  // namespace webhooks
