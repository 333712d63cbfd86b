// Starting a purchase below HTTP: a plan subscription or a one-off credit pack, checked
// against the plans file and turned into a Stripe Checkout Session (the credits come later,
// with Stripe's webhook, through the ledger). http/billing_routes.cc reads the request,
// derives the Stripe Idempotency-Key and writes the reply.
#pragma once

#include <string>
#include <variant>

#include "integrations/stripe_client.h"
#include "ledger/pg.h"
#include "ledger/plans.h"

namespace usecases {

// What the buyer chose: a plan and a billing cycle ("monthly" | "yearly"), or a pack
// (`pack_id` set), in a currency (any case).
struct CheckoutChoice {
  std::string plan_id;
  std::string billing_cycle;
  std::string pack_id;
  std::string currency;
};

// A choice the plans file does not allow: `code` is unknown_plan, plan_not_purchasable,
// invalid_billing_cycle, unknown_pack or unsupported_currency; `detail_name` and `detail`
// name the offending value ("plan_id", "billing_cycle", "currency"), or are empty.
struct CheckoutRefusal {
  std::string code;
  std::string detail_name;
  std::string detail;
};

// No Stripe API key is configured: nothing was asked of Stripe.
struct StripeNotConfigured {};

using CheckoutResult = std::variant<integrations::CheckoutSession, CheckoutRefusal,
                                    integrations::StripeFailure, StripeNotConfigured>;

struct CheckoutUrls {
  std::string success_url;
  std::string cancel_url;
};

// Creates the Checkout Session of `choice` for `account_id` under `idempotency_key` (the
// same key gives the same session); the account's Stripe customer, when the ledger knows
// one, is reused. Blocking (one Stripe call, bounded by the client's timeouts).
CheckoutResult start_checkout(pg::Connection& reads, const integrations::StripeClient& stripe,
                              const ledger::PlanCatalog& plans, const CheckoutUrls& urls,
                              const std::string& account_id, const CheckoutChoice& choice,
                              const std::string& idempotency_key);

}  // namespace usecases
