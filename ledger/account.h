// The state of one account stream and the pure fold `apply_event(state, event)`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/events.h"

namespace ledger {

enum class ReservationStatus { kOpen, kCaptured, kReleased, kExpired };
std::string_view reservation_status_name(ReservationStatus status);

struct Reservation {
  std::string id;
  int64_t amount = 0;
  std::string feature;
  int64_t expires_at_us = 0;
  ReservationStatus status = ReservationStatus::kOpen;
  int64_t amount_captured = 0;
  // The buckets it drew from, in burn-down order; a capture spends them in that order and
  // gives the rest back to the buckets it came from.
  std::vector<BucketDraw> draws;
};

// Bucket sources (what a user sees): the plan's allowance (Stripe or free), a purchased
// pack, a promotional or admin grant, a refund, and "legacy": credits granted before buckets
// existed (one never-expiring bucket per account).
inline constexpr const char* kBucketPlanAllowance = "plan_allowance";
inline constexpr const char* kBucketPack = "pack";
inline constexpr const char* kBucketPromotional = "promotional";
inline constexpr const char* kBucketRefund = "refund";
inline constexpr const char* kBucketAdmin = "admin";
inline constexpr const char* kBucketLegacy = "legacy";
inline constexpr const char* kLegacyBucketId = "legacy";
// Lower priorities are spent first among buckets of the same expiry (Stripe's convention).
inline constexpr int64_t kBucketPriorityDefault = 50;
inline constexpr int64_t kBucketPriorityMax = 100;

// Credits of one grant: `remaining` of them are available, `reserved` held by open
// reservations. Buckets are spent in burn-down order (bucket_before): earliest expiry first
// (never-expiring last), then lower priority, then oldest. A bucket with nothing left is
// dropped from the state.
struct CreditBucket {
  std::string id;      // "b<seq>", or kLegacyBucketId
  std::string source;  // kBucket* above
  int64_t remaining = 0;
  int64_t reserved = 0;
  int64_t expires_at_us = 0;  // 0: never
  int64_t priority = kBucketPriorityDefault;
  int64_t seq = 0;          // creation order (legacy: 0)
  std::string reference{};  // a pack: its payment (Stripe payment intent); never merged
  int64_t revoked = 0;      // a pack: credits taken back after refunds of its payment
  // A pack: the credits its payment's refunds take back in all. What is reserved when a
  // refund arrives is taken as soon as it comes back (CreditsRevoked after the command).
  int64_t revoke_target = 0;
  bool operator==(const CreditBucket&) const = default;
};
// The refund_references entry that makes a pack's grant once per payment; it holds the
// pack's credits.
std::string pack_reference_key(const std::string& payment_reference);
// True when `a` is spent before `b`.
bool bucket_before(const CreditBucket& a, const CreditBucket& b);
// The source of the bucket a CreditsGranted creates (its event source mapped: "stripe" ->
// plan_allowance, "churnkey" -> promotional, ...).
std::string bucket_source_of_grant(const std::string& grant_source);

// The account's Stripe subscription as the billing events left it.
struct SubscriptionState {
  std::string subscription_id;  // "" when the account never subscribed
  std::string customer_id;
  std::string status;
  std::string plan_id;
  std::string scheduled_plan_id;
  int64_t period_start_s = 0;
  int64_t period_end_s = 0;
  bool cancel_at_period_end = false;
  int64_t watermark_created_s = 0;  // `created` of the newest Stripe event applied
  std::set<std::string> granted_periods;  // period keys that received their allowance
};

struct AccountState {
  std::string account_id;
  bool opened = false;
  bool closed = false;  // no new reservations (AccountClosed)
  std::string plan_id;
  int64_t credits_available = 0;
  int64_t credits_reserved = 0;
  int64_t credits_granted = 0;  // lifetime
  int64_t credits_spent = 0;    // lifetime, net of refunds
  int64_t credits_expired = 0;  // lifetime
  int64_t version = 0;          // stream version of the last applied event (0: no events)
  std::string last_hash;        // 32-byte hash of the last event (32 zero bytes: none)
  // Reservations known to this state. A full fold holds all of them; the committer loads
  // only those its commands name.
  std::map<std::string, Reservation> reservations;
  SubscriptionState subscription;
  // Refund references used, with the amount refunded under each (a full fold holds all; the
  // committer loads those its commands name).
  std::map<std::string, int64_t> refund_references;
  // Live buckets by id: their remaining credits sum to credits_available and their reserved
  // ones to credits_reserved.
  std::map<std::string, CreditBucket> buckets;
  int64_t buckets_created = 0;  // seq of the newest bucket
  int64_t opened_at_us = 0;     // when AccountOpened was recorded
  // End of the period of the newest expiring plan allowance (0: none known, e.g. an account opened
  // before buckets). A free account is refreshed when it passes (free_allowance_due_us).
  int64_t allowance_until_us = 0;
};

// Draws of `amount` available credits in burn-down order; nullopt when fewer are available.
std::optional<std::vector<BucketDraw>> burn_down_draws(const AccountState& state, int64_t amount);
// The buckets of `state` in burn-down order.
std::vector<const CreditBucket*> buckets_in_burn_down_order(const AccountState& state);
// The free plan's monthly period that holds `now_us`, counted in calendar months from
// opening: [add_months(opened, index), add_months(opened, index + 1)).
struct FreePeriod {
  int64_t index = 0;
  int64_t start_us = 0;
  int64_t end_us = 0;
};
FreePeriod free_period_at(int64_t opened_at_us, int64_t now_us);
// When a free account's next monthly allowance is due: allowance_until_us, or for an
// account without one, a month after opening.
int64_t free_allowance_due_us(const AccountState& state);
// The earliest instant at which the account needs the sweeper: a bucket with credits left
// expires. 0: never. (A free account's monthly allowance waits for its next request: the
// sweeper never writes to dormant accounts.)
int64_t credits_due_us(const AccountState& state);

// Account states by account id: what a batch, a fold of the log or a projection load holds.
using AccountStates = std::map<std::string, AccountState>;

// A state with no events: version 0 and the genesis hash.
AccountState empty_account(std::string account_id);

// Applies one event's effect on balances, plan and reservations; the caller advances
// version and last_hash. Returns false, leaving `state` unspecified, when the event cannot
// follow this state (unknown or settled reservation, a balance driven negative, overflow):
// decided events always apply, so false means a corrupt or tampered log.
[[nodiscard]] bool apply_event(AccountState& state, const EventBody& event);

// available >= 0, reserved >= 0, granted - spent - expired - available - reserved == 0, and
// the buckets' remaining and reserved credits sum to available and reserved.
bool balance_invariants_hold(const AccountState& state);
// The above, and reserved == sum of open reservations (only meaningful for a full fold).
bool full_invariants_hold(const AccountState& state);

}  // namespace ledger
