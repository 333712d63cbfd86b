// Checkout Sessions of plans and packs (usecases/checkout.h).
#include "usecases/checkout.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "projections/subscriptions.h"

namespace usecases {
namespace {

std::string lower_ascii(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool offered_in(const std::vector<std::string>& currencies, const std::string& currency) {
  return std::find(currencies.begin(), currencies.end(), currency) != currencies.end();
}

// The Stripe price of a plan for a billing cycle, or why there is none.
std::variant<std::string, CheckoutRefusal> plan_price(const ledger::Plan& plan,
                                                      const std::string& billing_cycle) {
  if (plan.id == ledger::PlanCatalog::kFreePlanId ||
      (plan.stripe_price_monthly.empty() && plan.stripe_price_yearly.empty())) {
    return CheckoutRefusal{"plan_not_purchasable", "plan_id", plan.id};
  }
  const std::string* price = nullptr;
  if (billing_cycle == "monthly") price = &plan.stripe_price_monthly;
  if (billing_cycle == "yearly") price = &plan.stripe_price_yearly;
  if (price == nullptr || price->empty()) {
    return CheckoutRefusal{"invalid_billing_cycle", "billing_cycle", billing_cycle};
  }
  return *price;
}

}  // namespace

CheckoutResult start_checkout(pg::Connection& reads, const integrations::StripeClient& stripe,
                              const ledger::PlanCatalog& plans, const CheckoutUrls& urls,
                              const std::string& account_id, const CheckoutChoice& choice,
                              const std::string& idempotency_key) {
  integrations::CheckoutSessionParams params;
  const std::string currency = lower_ascii(choice.currency);
  if (!choice.pack_id.empty()) {
    const ledger::Pack* pack = plans.find_pack(choice.pack_id);
    if (pack == nullptr) return CheckoutRefusal{"unknown_pack", "", ""};
    if (!offered_in(pack->currencies, currency)) {
      return CheckoutRefusal{"unsupported_currency", "currency", currency};
    }
    params.price_id = pack->stripe_price;
    params.pack_id = pack->id;
  } else {
    const ledger::Plan* plan = plans.find(choice.plan_id);
    if (plan == nullptr) return CheckoutRefusal{"unknown_plan", "", ""};
    auto price = plan_price(*plan, choice.billing_cycle);
    if (auto* refusal = std::get_if<CheckoutRefusal>(&price)) return std::move(*refusal);
    if (!offered_in(plan->currencies, currency)) {
      return CheckoutRefusal{"unsupported_currency", "currency", currency};
    }
    params.price_id = std::get<std::string>(price);
    params.plan_id = plan->id;
  }
  if (!stripe.configured()) return StripeNotConfigured{};
  params.account_id = account_id;
  // The customer as committed before the call: Stripe keeps one customer per account.
  const auto view = projections::subscriptions::read_view(
      reads, account_id, std::string(ledger::PlanCatalog::kFreePlanId));
  params.customer_id = view.subscription ? view.subscription->customer_id : std::string();
  params.success_url = urls.success_url;
  params.cancel_url = urls.cancel_url;
  params.idempotency_key = idempotency_key;
  CheckoutResult result;
  std::visit([&result](auto&& value) { result = std::move(value); },
             stripe.create_checkout_session(params));
  return result;
}

}  // namespace usecases
