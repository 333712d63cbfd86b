// Commands against an account, their outcomes, and the pure decision function
// `decide_and_apply(state, command, now, plans) -> events and outcome, or a rejection`.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "ledger/account.h"
#include "ledger/events.h"
#include "ledger/plans.h"

namespace ledger {

// The largest amount one command may move; keeps every sum far from int64 overflow.
inline constexpr int64_t kAmountMax = 1'000'000'000'000;  // 10^12 credits
inline constexpr int64_t kReservationTtlDefaultS = 600;
inline constexpr int64_t kReservationTtlMaxS = 86'400;

// Opens the account (free plan allowance) if it is not open yet; otherwise a no-op.
struct OpenAccount {};
// A grant into a bucket of its own terms (ledger/account.h): admin | promotional (and the
// system's sources). expires_at_us: 0 never, else it must be in the future; priority
// 0..kBucketPriorityMax, lower spent first. Outcome: the bucket's id in bucket_id.
struct GrantCredits {
  int64_t amount = 0;
  std::string reason;
  std::string source = "admin";
  int64_t expires_at_us = 0;
  int64_t priority = kBucketPriorityDefault;
};
struct ReserveCredits {
  int64_t amount = 0;
  std::string feature;
  int64_t ttl_s = kReservationTtlDefaultS;
  std::string reservation_id;  // assigned by the submitter; not part of the fingerprint
};
struct CaptureReservation {
  std::string reservation_id;
  int64_t amount = 0;
};
struct ReleaseReservation {
  std::string reservation_id;
};
// Sweeper: releases an open reservation whose expiry has passed.
struct ExpireReservation {
  std::string reservation_id;
};
struct RefundCredits {
  int64_t amount = 0;
  std::string reason;
  std::string reference;
};

// A verified, parsed Stripe event already resolved to this account. Applied by the rules of
// DESIGN.md "Webhooks": an event older (by `created_s`) than the newest one applied changes
// nothing; exactly one allowance grant per subscription period; a renewal expires what is
// left of the older allowance and grants the period's (a bucket expiring at the period's
// end; other buckets stay); upgrade grants the difference once; deletion expires the
// allowance and grants the free plan's.
struct StripeBillingEvent {
  std::string stripe_event_id;
  std::string type;  // checkout.session.completed | invoice.paid | invoice.payment_failed |
                     // customer.subscription.updated | customer.subscription.deleted
  int64_t created_s = 0;
  std::string customer_id;
  std::string subscription_id;
  std::string plan_id;         // from the price when known, else metadata; "" unknown
  std::string status;          // subscription status when the event carries one
  std::string billing_reason;  // invoices: subscription_create | subscription_cycle | ...
  int64_t period_start_s = 0;
  int64_t period_end_s = 0;
  bool cancel_at_period_end = false;
  std::string invoice_id;
  // One-off packs. A paid checkout (checkout.session.completed or
  // checkout.session.async_payment_succeeded) of a pack grants `pack_credits` into a pack
  // bucket of its own (expiring after pack_expires_after_days, 0 never), once per
  // `payment_reference` (the payment intent). charge.refunded takes back, of the pack
  // bought with that payment, the refunded share of its credits (credits x
  // charge_refunded_minor / charge_amount_minor, all of them when the charge is fully
  // refunded), at most what it has left (CreditsRevoked). Notes: pack_granted,
  // pack_already_granted, pack_refunded, nothing_unspent, not_a_pack.
  std::string pack_id;
  int64_t pack_credits = 0;
  int64_t pack_expires_after_days = 0;
  std::string payment_reference;
  std::string charge_id;
  int64_t charge_amount_minor = 0;
  int64_t charge_refunded_minor = 0;
  bool charge_fully_refunded = false;
};

// A verified Churnkey delivery resolved to this account (webhooks/stripe_inbox.h), recorded
// as ChurnkeySessionRecorded. A cancellation (result "cancel", not TEST mode) of an account
// whose Stripe subscription is live, when the delivery names no subscription or names that
// one, queues the outbox message kStripeCancelAtPeriodEndKind and, unless it is pending
// already, sets cancel_at_period_end (a SubscriptionChanged snapshot, so GET
// /billing/subscription shows it at once) and queues the confirmation e-mail
// kCancellationConfirmedKind; Stripe's own customer.subscription.updated
// confirms it later. Nothing else (pause, discount, abort, other, another subscription)
// changes anything but the record. Outcome note: the event's `action`.
struct ChurnkeySessionEvent {
  std::string delivery_id;
  std::string event_name;
  std::string result;  // cancel | pause | discount | abort | other
  std::string session_id;
  std::string offer_type;
  std::string survey_response;  // sealed (ledger/personal_data.h), as the event stores it
  std::string feedback;  // sealed; at most kChurnkeyFeedbackStoredBytesMax bytes
  bool test_mode = false;
  std::string subscription_id;  // the Stripe subscription the delivery names ("" none)
};
// A verified Shopify webhook for the shop's account "shop:<myshopify domain>"
// (webhooks/stripe_inbox.h), recorded as ShopifyWebhookRecorded. app/uninstalled also
// closes the account (AccountClosed): new reservations are refused with
// kAccountClosed, open ones may still settle. Outcome note: the event's `action`.
struct ShopifyWebhookEvent {
  std::string webhook_id;
  std::string event_id;
  std::string topic;
  std::string shop_id;
  std::string customer_id;
};

// Reopens a closed account (AccountReopened): it takes reservations again. Outcome note:
// "reopened", or "already_open" (nothing written).
struct ReopenAccount {
  std::string reason;  // required
};

// Settles what is due on the account and nothing else: the buckets whose expiry passed
// (the sweeper) and, with refresh_free_allowance (GET /api/v1/credits of a free account
// past its month), the monthly allowance. decide_and_apply settles both before any other
// command; the sweeper never refreshes, so a dormant account gets no events. Never opens an
// account. Outcome note: "settled" or "nothing_due".
struct SettleCreditsDue {
  bool refresh_free_allowance = false;
};

// Erases the personal data held for the account or one of its (Shopify) customers
// (webhooks/erasure.h), recorded as PersonalDataErased before the keys are deleted.
// Outcome note: "erased".
struct ErasePersonalData {
  std::string scope;         // account | customer
  std::string customer_id;   // scope customer: the customer's Shopify id ("" when unnamed)
  int64_t deliveries = 0;    // deliveries whose keys the erasure deletes (>= 0)
  std::string requested_by;  // "ledgerctl", or the provider and delivery id of the request
};

// The outbox message that asks Stripe to cancel a subscription at its period end. Payload:
// {"account_id", "subscription_id", "delivery_id", "idempotency_key"}.
inline constexpr const char* kStripeCancelAtPeriodEndKind = "stripe.cancel_at_period_end";
// The e-mail that warns that credits run low: a reservation took credits_available from at
// or above the plan's low_balance_threshold to below it (one per crossing: the next one
// needs the balance back at or above the threshold first). Payload: {"account_id",
// "plan_id", "credits_available", "threshold"}.
inline constexpr const char* kLowBalanceKind = "email.low_balance";
// The e-mail that confirms a cancellation to the customer. Payload: {"account_id",
// "subscription_id", "period_end_s"}.
inline constexpr const char* kCancellationConfirmedKind = "email.cancellation_confirmed";

using CommandBody =
    std::variant<OpenAccount, GrantCredits, ReserveCredits, CaptureReservation, ReleaseReservation,
                 ExpireReservation, RefundCredits, StripeBillingEvent, ChurnkeySessionEvent,
                 ShopifyWebhookEvent, ErasePersonalData, ReopenAccount, SettleCreditsDue>;

struct Command {
  std::string account_id;
  std::string idempotency_key;  // required; scoped to the account
  CommandBody body;
  EventMetadata metadata;
  // An account that was never opened opens (free plan) with the command's first event,
  // unless this is false: then the command is rejected kAccountNotFound. Not part of the
  // fingerprint (it says who may open, not what the command does).
  bool may_open_account = true;
  // False for a key derived from what the request asks (http::implicit_idempotency_key): a
  // refusal is then not recorded under it, since it may not hold later (a refund refused
  // before the spend it needs; the same request sent again must be decided again). Accepted
  // outcomes are recorded either way. Not part of the fingerprint.
  bool record_refusals = true;
};

// Live buckets an account may hold before an admin or promotional grant that would open
// another one is refused (kBucketLimit); system grants are never refused for it.
inline constexpr std::size_t kBucketsPerAccountMax = 200;

// Longest idempotency key and text field a command may carry (bytes).
inline constexpr std::size_t kIdempotencyKeyBytesMax = 1'024;
inline constexpr std::size_t kCommandTextBytesMax = 1'024;

// True when every string of the command (ids, key, body, metadata) is text PostgreSQL can
// store (valid UTF-8 without NUL, unicode::is_storable_text) within the limits above. The
// committer rejects any other command before it can reach a batch.
bool command_is_storable(const Command& command);

// SHA-256 (hex) over the command's type and request fields: the same key with another
// fingerprint is an idempotency conflict.
std::string command_fingerprint(const Command& command);

enum class Rejection {
  kNone,
  kInvalidCommand,       // malformed ids, empty fields, bad ttl
  kInvalidAmount,        // zero, negative, or above kAmountMax
  kInsufficientCredits,  // credits_needed, credits_available
  kReservationNotFound,
  kReservationSettled,         // already captured/released/expired: reservation_status
  kReservationExpired,         // capture after the expiry instant
  kCaptureExceedsReservation,  // amount > reserved amount
  kRefundExceedsSpent,
  kBalanceOverflow,
  kIdempotencyConflict,
  kRefundReferenceUsed,  // this account already refunded under that reference
  kAccountNotFound,      // the command may not open the account, which was never opened
  kAccountClosed,        // a reservation on a closed account
  kBucketLimit,          // a grant would open more than kBucketsPerAccountMax buckets
};
inline constexpr Rejection kRejectionLast = Rejection::kBucketLimit;
std::string_view rejection_code(Rejection rejection);

// The result of one command, as stored with its idempotency key and replayed verbatim.
struct Outcome {
  Rejection rejection = Rejection::kNone;
  std::string account_id;
  std::string plan_id;
  std::string reservation_id;
  std::string reservation_status;
  std::string bucket_id;  // GrantCredits: the bucket the credits went to
  int64_t amount = 0;
  int64_t expires_at_us = 0;
  int64_t credits_used = 0;
  int64_t credits_released = 0;
  int64_t credits_needed = 0;
  int64_t credits_available = 0;
  int64_t credits_reserved = 0;
  int64_t version = 0;    // stream version after the command
  std::string note;       // e.g. "superseded" for a Stripe event older than applied state
  bool replayed = false;  // set when returned from the idempotency store; not stored

  bool ok() const { return rejection == Rejection::kNone; }
  std::string to_json() const;
  // Parses what to_json wrote, this version or another: unknown fields are ignored, missing
  // ones default (only "result" is required); throws std::runtime_error on a corrupt one
  // (not an object, no or an unknown result, a field of the wrong type).
  static Outcome from_json(std::string_view json);
};

// A side effect to perform after commit (email, outgoing Stripe call), written to the
// outbox in the same transaction as the events.
struct OutboxMessage {
  std::string kind;          // "email.payment_failed", ...
  std::string payload_json;  // what the deliverer needs
};

struct Decision {
  std::vector<EventBody> events;  // empty on rejection (and for no-op commands)
  std::vector<OutboxMessage> outbox;
  Outcome outcome;                // balances filled after applying `events`
};

// Decides `command` against `state` at `now_us`, applies the events to `state`, and fills
// the outcome from the resulting state. Pure: no I/O. On rejection `state` is unchanged.
// Before the command's own events come the credits due at now_us (buckets whose expiry
// passed, a free account's monthly allowance); after them, the expiry of credits a release
// gave back to an expired bucket. Every event gets its bucket (ids, draws) here.
// Precondition: `state` holds every reservation the command names, if it exists.
Decision decide_and_apply(AccountState& state, const Command& command, int64_t now_us,
                          const PlanCatalog& plans);

}  // namespace ledger
