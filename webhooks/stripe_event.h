// Stripe event parsing: turns a raw (already verified) Stripe webhook body into one
// normalized StripeEvent, whatever the API version that produced it. It owns the knowledge
// of where each field lives in the pre-2025 and the 2025+ ("basil") payload shapes, so no
// other code needs to know. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace webhooks {

// Conventions for every struct below: a string field is empty when Stripe sent it absent or
// null; an optional field is nullopt likewise. Reference fields (customer, subscription,
// price) hold the id whether Stripe sent the id or the expanded object.

// data.object of checkout.session.completed.
struct StripeCheckoutSession {
  std::string id;
  std::string client_reference_id;
  std::string metadata_account_id;  // metadata.account_id
  std::string metadata_plan_id;     // metadata.plan_id
  std::string customer;
  std::string subscription;
  std::string mode;            // "subscription", "payment" or "setup".
  std::string payment_status;  // "paid", "unpaid" or "no_payment_required".
  std::string metadata_pack_id;  // metadata.pack_id (a pack checkout)
  std::string payment_intent;    // mode payment: the payment's intent

  bool operator==(const StripeCheckoutSession&) const = default;
};

// data.object of charge.refunded.
struct StripeCharge {
  std::string id;
  std::string customer;
  std::string payment_intent;
  std::optional<int64_t> amount_minor;           // `amount`, in the minor unit
  std::optional<int64_t> amount_refunded_minor;  // `amount_refunded`, cumulative
  bool refunded = false;                         // fully refunded
  std::string metadata_account_id;
  std::string metadata_pack_id;

  bool operator==(const StripeCharge&) const = default;
};

// data.object of invoice.paid and invoice.payment_failed.
struct StripeInvoice {
  std::string id;
  std::string customer;
  // Pre-2025 `subscription`; 2025+ `parent.subscription_details.subscription`.
  std::string subscription;
  std::string billing_reason;  // e.g. "subscription_create", "subscription_cycle".
  // The service period: the first line's `period` when present, else the invoice's own
  // `period_start`/`period_end` (which, for subscriptions, describe the previous period).
  std::optional<int64_t> period_start_unix_s;
  std::optional<int64_t> period_end_unix_s;
  // Pre-2025 `lines.data[0].price`; 2025+ `lines.data[0].pricing.price_details.price`.
  std::string price_id;
  // The invoice's metadata, else the subscription's (2025+ `parent.subscription_details`,
  // pre-2025 `subscription_details`), else the first line's.
  std::string metadata_account_id;
  std::string metadata_plan_id;
  std::optional<int64_t> amount_paid_minor;  // In the currency's minor unit (cents).
  std::string currency;
  std::string status;  // e.g. "paid", "open".

  bool operator==(const StripeInvoice&) const = default;
};

// data.object of customer.subscription.created/updated/deleted.
struct StripeSubscription {
  std::string id;
  std::string customer;
  std::string status;  // e.g. "active", "past_due", "canceled".
  bool cancel_at_period_end = false;
  std::optional<int64_t> cancel_at_unix_s;
  std::optional<int64_t> canceled_at_unix_s;
  // Pre-2025 top-level `current_period_*`; 2025+ `items.data[0].current_period_*`.
  std::optional<int64_t> current_period_start_unix_s;
  std::optional<int64_t> current_period_end_unix_s;
  // `items.data[0].price`, else `items.data[0].plan`.
  std::string price_id;
  std::string metadata_account_id;
  std::string metadata_plan_id;

  bool operator==(const StripeSubscription&) const = default;
};

// One Stripe event. At most one of checkout/invoice/subscription/charge is set, according
// to `type`; events of other types carry only the common fields.
struct StripeEvent {
  std::string id;
  std::string type;
  int64_t created_unix_s = 0;
  bool livemode = false;
  std::string object_id;  // data.object.id, empty when absent.
  std::optional<StripeCheckoutSession> checkout;
  std::optional<StripeInvoice> invoice;
  std::optional<StripeSubscription> subscription;
  std::optional<StripeCharge> charge;

  bool operator==(const StripeEvent&) const = default;
};

// A parsed event, or a description of why the body is not a usable Stripe event.
using StripeEventParse = std::variant<StripeEvent, std::string>;

// Parses `raw_body` into a StripeEvent. Requires a JSON object (at most
// kWebhookBodyBytesMax bytes and kWebhookJsonDepthMax levels, see json_reader.h) with a
// non-empty string `id` and `type`, a non-negative integer `created` and an object
// `data.object`. For the handled types it also requires a string `data.object.id` and
// fails when a field it reads is present with the wrong type (null counts as absent).
// Returns the error string otherwise; never throws.
StripeEventParse parse_stripe_event(std::string_view raw_body);

}  // namespace webhooks
