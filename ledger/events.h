// Domain events of an account stream and their canonical JSON encoding. The encoding is
// what the event store stores and hashes, so it must stay stable: fields in fixed order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ledger {

struct AccountOpened {
  std::string plan_id;
};
// Credits a debit took from one credit bucket (ledger/account.h).
struct BucketDraw {
  std::string bucket_id;
  int64_t amount = 0;
  bool operator==(const BucketDraw&) const = default;
};

// Credits added to `available`, in the bucket `bucket_id` (a new one, or an existing one of
// the same source, expiry and priority). `source` is plan_allowance | admin | promotional |
// pack | stripe (a Stripe plan allowance) | churnkey; `period_key` names the period an
// allowance belongs to ("free:<n>" for the free plan's n-th monthly refresh; empty
// otherwise). Events recorded before buckets existed have no bucket fields: bucket_id ""
// means the account's legacy bucket.
struct CreditsGranted {
  int64_t amount = 0;
  std::string reason;
  std::string source;
  std::string period_key;
  std::string bucket_id{};
  int64_t expires_at_us = 0;  // 0: never
  int64_t priority = 50;
  std::string reference{};  // source pack: the payment (once per account); "" otherwise
};
// `draws` says which buckets the reservation took its credits from (nullopt in events
// recorded before buckets existed: the fold then draws in burn-down order).
struct CreditsReserved {
  std::string reservation_id;
  int64_t amount = 0;
  std::string feature;
  int64_t expires_at_us = 0;  // microseconds since the Unix epoch
  std::optional<std::vector<BucketDraw>> draws{};
};
struct ReservationCaptured {
  std::string reservation_id;
  int64_t amount_captured = 0;
  int64_t amount_released = 0;
};
struct ReservationReleased {
  std::string reservation_id;
  int64_t amount = 0;
};
struct ReservationExpired {
  std::string reservation_id;
  int64_t amount = 0;
};
// Credits given back for spent credits (reduces `spent`, never below zero), into a refund
// bucket (bucket_id "" in events recorded before buckets: the legacy bucket).
struct CreditsRefunded {
  int64_t amount = 0;
  std::string reason;
  std::string reference;
  std::string bucket_id{};
};
// Available credits of bucket `bucket_id` forfeited: the bucket's expiry, a period's leftover
// allowance at renewal, a free refresh. bucket_id "" (events recorded before buckets): taken
// in burn-down order.
struct CreditsExpired {
  int64_t amount = 0;
  std::string reason;
  std::string bucket_id{};
};
// Unspent credits of a pack taken back because its payment was refunded (counted as
// expired: they leave the account unspent). At most what the bucket has left.
// `target`: what the refunds of that payment take back in all; credits reserved at the time
// are taken (later CreditsRevoked) as they come back to the bucket. amount may be 0 when an
// event only raises the target.
struct CreditsRevoked {
  int64_t amount = 0;
  std::string reason;
  std::string bucket_id;
  std::string reference;  // the pack's payment
  int64_t target = 0;
};
struct PlanChanged {
  std::string plan_id;
  std::string reason;
};
// The account's Stripe subscription after a billing event: a full snapshot, so a fold never
// needs the webhook. `stripe_event_created_s` is the newest applied event's `created`
// (older deliveries never override it).
struct SubscriptionChanged {
  std::string subscription_id;
  std::string customer_id;
  std::string status;  // active | past_due | canceled | incomplete | trialing | ...
  std::string plan_id;
  std::string scheduled_plan_id;  // a downgrade waiting for the next period ("" none)
  int64_t period_start_s = 0;
  int64_t period_end_s = 0;
  bool cancel_at_period_end = false;
  std::string stripe_event_id;
  int64_t stripe_event_created_s = 0;
};

// What a customer did in a Churnkey cancel flow (one verified delivery). Changes no
// balance; a cancellation that asks Stripe to cancel at the period end is followed, in the
// same command, by the SubscriptionChanged snapshot with cancel_at_period_end set.
struct ChurnkeySessionRecorded {
  std::string delivery_id;  // Churnkey's event id, else the SHA-256 of the raw body
  std::string event_name;   // `event` or `type` as sent
  std::string result;       // cancel | pause | discount | abort | other
  std::string session_id;
  std::string offer_type;       // the accepted offer's type ("" none)
  // The cancel survey's answer and the customer's free text: personal, so stored sealed
  // under the account's key (ledger/personal_data.h; "" none). Events recorded before
  // sealing hold plain text.
  std::string survey_response;  // at most kChurnkeySurveyBytesMax bytes before sealing
  std::string feedback;         // at most kChurnkeyFeedbackBytesMax bytes before sealing
  bool test_mode = false;       // Churnkey's TEST mode: recorded, never sent to Stripe
  // What the ledger did with it: cancel_requested | already_pending (Stripe asked again) |
  // no_subscription | other_subscription | test_mode | recorded.
  std::string action;
};
inline constexpr std::size_t kChurnkeyFeedbackBytesMax = 500;
inline constexpr std::size_t kChurnkeySurveyBytesMax = 256;
// The stored fields hold the sealed text: "sealed:" and the base64 of 28 more bytes.
inline constexpr std::size_t kChurnkeyFeedbackStoredBytesMax = 720;

// The account takes no new reservations from now on (a Shopify shop uninstalled the app);
// open reservations may still be captured, released or expire.
struct AccountClosed {
  std::string reason;
};
// A closed account takes reservations again (an admin reopened it, e.g. a shop that
// installed the app again).
struct AccountReopened {
  std::string reason;
};
// A verified Shopify webhook of the shop's account. Holds no personal data: the customer of
// a compliance request is named by Shopify's id only.
struct ShopifyWebhookRecorded {
  std::string webhook_id;   // X-Shopify-Webhook-Id
  std::string event_id;     // X-Shopify-Event-Id ("" when absent)
  std::string topic;        // X-Shopify-Topic
  std::string shop_id;      // Shopify's shop id ("" when the body has none)
  std::string customer_id;  // customers/* topics: the customer's Shopify id
  // closed | already_closed | data_request_recorded | erasure_requested | recorded
  std::string action;
};

// Personal data of the account (scope "account": every webhook delivery of the account and
// its subject key) or of one of a shop's customers (scope "customer": the deliveries that
// name that customer) was erased: recorded before the keys are deleted (README "Erasure").
// Changes no balance.
struct PersonalDataErased {
  std::string scope;         // account | customer
  std::string customer_id;   // scope customer: the customer's Shopify id ("" when unnamed)
  int64_t deliveries = 0;    // deliveries whose keys the erasure deletes
  std::string requested_by;  // "ledgerctl", or the provider and delivery id of the request
};

using EventBody =
    std::variant<AccountOpened, CreditsGranted, CreditsReserved, ReservationCaptured,
                 ReservationReleased, ReservationExpired, CreditsRefunded, CreditsExpired,
                 PlanChanged, SubscriptionChanged, ChurnkeySessionRecorded, AccountClosed,
                 ShopifyWebhookRecorded, PersonalDataErased, AccountReopened, CreditsRevoked>;

// The stored type name of an event ("CreditsReserved", ...).
std::string_view event_type_name(const EventBody& event);

// Canonical JSON of the event's fields (no type name; that is stored beside it).
std::string encode_event_payload(const EventBody& event);

// Decodes a stored event. Returns nullopt for an unknown type or a payload that does not
// match the type's fields (verify reports such an event as corrupt).
std::optional<EventBody> decode_event(std::string_view type_name, std::string_view payload_json);

// Who caused an event and why: stored as the event's metadata JSON.
struct EventMetadata {
  std::string actor;           // "user:alice", "service:checkout", "admin:ops", "system"
  std::string source;          // "http", "sweeper", "stripe", "ledgerctl", ...
  std::string correlation_id;  // request id
  std::string causation_id;    // e.g. the webhook event id
  std::string idempotency_key;
};
std::string encode_event_metadata(const EventMetadata& metadata);

}  // namespace ledger
