// Realistic Stripe webhook event bodies for the billing tests, in both payload shapes Stripe
// sends: the pre-2025 API versions (invoice `subscription`, `subscription_details`, line
// `price`, subscription `current_period_*` at the top) and 2025-03-31.basil (invoice
// `parent.subscription_details`, line `pricing.price_details.price`, the period on the
// subscription's items). Shapes follow Stripe's API reference for the Event, Checkout
// Session, Invoice and Subscription objects (trimmed to the fields that matter plus typical
// neighbours).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace billing_tests {

enum class Shape { kPre2025, kBasil };

inline constexpr int64_t kDayS = 86'400;
inline constexpr int64_t kMonthS = 30 * kDayS;

// Who a subscription belongs to. With `with_metadata` false the objects carry no
// metadata.account_id / plan_id (and checkout no client_reference_id): the ledger must
// find the account through the subscription or customer id.
struct Subscriber {
  std::string account;
  std::string subscription;
  std::string customer;
  bool with_metadata = true;
};

// A Subscriber with ids derived from `tag`: account "acct-<tag>", "sub_<tag>", "cus_<tag>".
Subscriber subscriber(const std::string& tag);

std::string checkout_completed(const std::string& event_id, int64_t created_s,
                               const Subscriber& who, const std::string& plan_id,
                               const std::string& payment_status = "paid");

// invoice.paid or invoice.payment_failed for the period [period_start_s, +kMonthS) billed
// at `price` (pro monthly: "price_pro_monthly", ...).
std::string invoice_event(const std::string& type, const std::string& event_id, int64_t created_s,
                          const Subscriber& who, const std::string& price,
                          const std::string& billing_reason, int64_t period_start_s, Shape shape);

// customer.subscription.updated / .deleted with the subscription on `price` for the
// current period [period_start_s, +kMonthS).
std::string subscription_event(const std::string& type, const std::string& event_id,
                               int64_t created_s, const Subscriber& who, const std::string& price,
                               const std::string& status, int64_t period_start_s,
                               bool cancel_at_period_end, Shape shape);

// checkout.session.completed or checkout.session.async_payment_succeeded of a pack bought by
// `account` (metadata account_id and pack_id, as our checkout sets them): session
// "cs_pack_<tag>", payment intent "pi_<tag>".
std::string pack_checkout_event(const std::string& type, const std::string& event_id,
                                int64_t created_s, const std::string& account,
                                const std::string& pack_id, const std::string& tag,
                                const std::string& payment_status = "paid");

// charge.refunded of the charge "ch_<tag>" of payment intent "pi_<tag>" for `amount_minor`,
// refunded `refunded_minor` so far (`refunded` when in full). `account` "" leaves the
// charge's metadata empty; `pack_id` adds metadata.pack_id.
std::string charge_refunded_event(const std::string& event_id, int64_t created_s,
                                  const std::string& account, const std::string& tag,
                                  int64_t amount_minor, int64_t refunded_minor, bool refunded,
                                  const std::string& pack_id = "");

// An event type the ledger does not handle (customer.created).
std::string customer_created(const std::string& event_id, int64_t created_s,
                             const std::string& customer);

// The five deliveries of one subscription's life (issue 4): checkout (pro), the first
// invoice (subscription_create), the upgrade to business, the next cycle's invoice, the
// deletion. Event ids "evt_<tag>_<n>"; `period0_s` starts the first period.
std::vector<std::string> life_of_a_subscription(const Subscriber& who, const std::string& tag,
                                                int64_t period0_s, Shape shape);

}  // namespace billing_tests
