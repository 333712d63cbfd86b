// The fold of account events into AccountState (ledger/account.h).
#include "ledger/account.h"

#include <algorithm>
#include <cassert>

#include "crypto/digest.h"

namespace ledger {
namespace {

bool add(int64_t& target, int64_t amount) {
  return !__builtin_add_overflow(target, amount, &target);
}
bool subtract(int64_t& target, int64_t amount) {
  return !__builtin_sub_overflow(target, amount, &target);
}

// Finds an open reservation of the state, or nullptr.
Reservation* open_reservation(AccountState& state, const std::string& id) {
  auto it = state.reservations.find(id);
  if (it == state.reservations.end() || it->second.status != ReservationStatus::kOpen) {
    return nullptr;
  }
  return &it->second;
}

// Moves a settled reservation's credits out of `reserved`: `captured` to spent, the rest
// back to available.
bool settle(AccountState& state, const std::string& id, int64_t captured, int64_t released,
            ReservationStatus status) {
  Reservation* reservation = open_reservation(state, id);
  if (reservation == nullptr || captured < 0 || released < 0) return false;
  if (captured + released != reservation->amount) return false;
  reservation->status = status;
  reservation->amount_captured = captured;
  return subtract(state.credits_reserved, reservation->amount) &&
         add(state.credits_spent, captured) && add(state.credits_available, released);
}

bool apply_body(AccountState& s, const AccountOpened& e) {
  if (s.opened) return false;
  s.opened = true;
  s.plan_id = e.plan_id;
  return true;
}
bool apply_body(AccountState& s, const CreditsGranted& e) {
  if (!e.period_key.empty() && !s.subscription.granted_periods.insert(e.period_key).second) {
    return false;  // one allowance per period
  }
  return e.amount > 0 && add(s.credits_available, e.amount) && add(s.credits_granted, e.amount);
}
bool apply_body(AccountState& s, const CreditsReserved& e) {
  if (e.amount <= 0 || s.reservations.count(e.reservation_id) != 0) return false;
  s.reservations[e.reservation_id] =
      Reservation{e.reservation_id, e.amount, e.feature, e.expires_at_us, ReservationStatus::kOpen, 0};
  return subtract(s.credits_available, e.amount) && add(s.credits_reserved, e.amount);
}
bool apply_body(AccountState& s, const ReservationCaptured& e) {
  return settle(s, e.reservation_id, e.amount_captured, e.amount_released,
                ReservationStatus::kCaptured);
}
bool apply_body(AccountState& s, const ReservationReleased& e) {
  return settle(s, e.reservation_id, 0, e.amount, ReservationStatus::kReleased);
}
bool apply_body(AccountState& s, const ReservationExpired& e) {
  return settle(s, e.reservation_id, 0, e.amount, ReservationStatus::kExpired);
}
bool apply_body(AccountState& s, const CreditsRefunded& e) {
  if (!e.reference.empty() && !s.refund_references.emplace(e.reference, e.amount).second) {
    return false;
  }
  return e.amount > 0 && subtract(s.credits_spent, e.amount) && add(s.credits_available, e.amount);
}
bool apply_body(AccountState& s, const CreditsExpired& e) {
  return e.amount > 0 && subtract(s.credits_available, e.amount) && add(s.credits_expired, e.amount);
}
bool apply_body(AccountState& s, const PlanChanged& e) {
  s.plan_id = e.plan_id;
  return !e.plan_id.empty();
}

bool apply_body(AccountState& s, const SubscriptionChanged& e) {
  SubscriptionState& sub = s.subscription;
  sub.subscription_id = e.subscription_id;
  sub.customer_id = e.customer_id;
  sub.status = e.status;
  sub.plan_id = e.plan_id;
  sub.scheduled_plan_id = e.scheduled_plan_id;
  sub.period_start_s = e.period_start_s;
  sub.period_end_s = e.period_end_s;
  sub.cancel_at_period_end = e.cancel_at_period_end;
  sub.watermark_created_s = std::max(sub.watermark_created_s, e.stripe_event_created_s);
  return !e.subscription_id.empty();
}

// A record of the customer's choice; the cancellation it may request is the
// SubscriptionChanged snapshot that follows it.
bool apply_body(AccountState&, const ChurnkeySessionRecorded& e) { return !e.delivery_id.empty(); }

bool apply_body(AccountState& s, const AccountClosed&) {
  if (s.closed) return false;  // decided only for an open account
  s.closed = true;
  return true;
}

bool apply_body(AccountState& s, const AccountReopened&) {
  if (!s.closed) return false;  // decided only for a closed account
  s.closed = false;
  return true;
}

bool apply_body(AccountState&, const ShopifyWebhookRecorded& e) { return !e.webhook_id.empty(); }

// The erasure acts on key rows outside the fold; the account's state is unchanged.
bool apply_body(AccountState&, const PersonalDataErased& e) {
  return (e.scope == "account" || e.scope == "customer") && e.deliveries >= 0;
}

}  // namespace

std::string_view reservation_status_name(ReservationStatus status) {
  switch (status) {
    case ReservationStatus::kOpen:
      return "open";
    case ReservationStatus::kCaptured:
      return "captured";
    case ReservationStatus::kReleased:
      return "released";
    case ReservationStatus::kExpired:
      return "expired";
  }
  return "unknown";
}

AccountState empty_account(std::string account_id) {
  AccountState state;
  state.account_id = std::move(account_id);
  state.last_hash = std::string(crypto::kSha256Size, '\0');
  return state;
}

bool apply_event(AccountState& state, const EventBody& event) {
  // Every stream starts with AccountOpened; nothing else may come first.
  if (!state.opened && !std::holds_alternative<AccountOpened>(event)) return false;
  const bool applied = std::visit([&state](const auto& e) { return apply_body(state, e); }, event);
  return applied && balance_invariants_hold(state);
}

bool balance_invariants_hold(const AccountState& s) {
  if (s.credits_available < 0 || s.credits_reserved < 0 || s.credits_spent < 0 ||
      s.credits_expired < 0) {
    return false;
  }
  return s.credits_granted - s.credits_spent - s.credits_expired - s.credits_available -
             s.credits_reserved ==
         0;
}

bool full_invariants_hold(const AccountState& state) {
  if (!balance_invariants_hold(state)) return false;
  int64_t open_sum = 0;
  for (const auto& [id, reservation] : state.reservations) {
    if (reservation.status == ReservationStatus::kOpen) open_sum += reservation.amount;
  }
  return open_sum == state.credits_reserved;
}

}  // namespace ledger
