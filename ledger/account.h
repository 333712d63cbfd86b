// The state of one account stream and the pure fold `apply_event(state, event)`.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

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
};

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
};

// Account states by account id: what a batch, a fold of the log or a projection load holds.
using AccountStates = std::map<std::string, AccountState>;

// A state with no events: version 0 and the genesis hash.
AccountState empty_account(std::string account_id);

// Applies one event's effect on balances, plan and reservations; the caller advances
// version and last_hash. Returns false, leaving `state` unspecified, when the event cannot
// follow this state (unknown or settled reservation, a balance driven negative, overflow):
// decided events always apply, so false means a corrupt or tampered log.
[[nodiscard]] bool apply_event(AccountState& state, const EventBody& event);

// available >= 0, reserved >= 0, granted - spent - expired - available - reserved == 0.
bool balance_invariants_hold(const AccountState& state);
// The above, and reserved == sum of open reservations (only meaningful for a full fold).
bool full_invariants_hold(const AccountState& state);

}  // namespace ledger
