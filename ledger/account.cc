// The fold of account events into AccountState (ledger/account.h).
#include "ledger/account.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <optional>
#include <tuple>

#include "crypto/digest.h"
#include "ledger/time_format.h"

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
// back to available. The draws are spent in their order; what is not captured goes back to
// the buckets it came from.
bool settle(AccountState& state, const std::string& id, int64_t captured, int64_t released,
            ReservationStatus status) {
  Reservation* reservation = open_reservation(state, id);
  if (reservation == nullptr || captured < 0 || released < 0) return false;
  if (captured + released != reservation->amount) return false;
  int64_t to_spend = captured;
  for (const BucketDraw& draw : reservation->draws) {
    const auto bucket = state.buckets.find(draw.bucket_id);
    if (bucket == state.buckets.end() || bucket->second.reserved < draw.amount) return false;
    const int64_t spent = std::min(draw.amount, to_spend);
    to_spend -= spent;
    bucket->second.reserved -= draw.amount;
    bucket->second.remaining += draw.amount - spent;
  }
  reservation->status = status;
  reservation->amount_captured = captured;
  return subtract(state.credits_reserved, reservation->amount) &&
         add(state.credits_spent, captured) && add(state.credits_available, released);
}

// The bucket credits of a grant or refund go to: the legacy bucket for events recorded before
// buckets, an existing bucket of the same terms, or a new one that must be the next in
// sequence (so the fold of a tampered id fails).
CreditBucket* bucket_for_credit(AccountState& s, const std::string& bucket_id,
                                const std::string& source, int64_t expires_at_us, int64_t priority,
                                const std::string& reference = "") {
  if (bucket_id.empty()) {
    auto [it, created] = s.buckets.try_emplace(kLegacyBucketId);
    if (created) {
      it->second.id = kLegacyBucketId;
      it->second.source = kBucketLegacy;
    }
    return &it->second;
  }
  if (auto it = s.buckets.find(bucket_id); it != s.buckets.end()) {
    CreditBucket& bucket = it->second;
    const bool same_terms = bucket.source == source && bucket.expires_at_us == expires_at_us &&
                            bucket.priority == priority && bucket.reference.empty() &&
                            reference.empty();
    return same_terms ? &bucket : nullptr;
  }
  if (bucket_id != "b" + std::to_string(s.buckets_created + 1) || expires_at_us < 0 ||
      priority < 0 || priority > kBucketPriorityMax) {
    return nullptr;
  }
  s.buckets_created += 1;
  CreditBucket& bucket = s.buckets[bucket_id];
  bucket = CreditBucket{bucket_id,         source,    0, 0, expires_at_us, priority,
                        s.buckets_created, reference, 0};
  return &bucket;
}

// Takes each draw's credits out of its bucket's remaining ones (into reserved when
// `reserve`).
bool take_draws(AccountState& s, const std::vector<BucketDraw>& draws, int64_t total,
                bool reserve) {
  int64_t sum = 0;
  for (const BucketDraw& draw : draws) {
    const auto it = s.buckets.find(draw.bucket_id);
    if (draw.amount <= 0 || it == s.buckets.end() || it->second.remaining < draw.amount ||
        !add(sum, draw.amount)) {
      return false;
    }
    it->second.remaining -= draw.amount;
    if (reserve) it->second.reserved += draw.amount;
  }
  return sum == total;
}

bool apply_body(AccountState& s, const AccountOpened& e) {
  if (s.opened) return false;
  s.opened = true;
  s.plan_id = e.plan_id;
  return true;
}
bool apply_body(AccountState& s, const CreditsGranted& e) {
  const bool free_refresh = e.period_key.rfind("free:", 0) == 0;
  if (free_refresh) {
    // One free allowance per monthly period: each refresh ends later than the last one.
    if (e.expires_at_us <= s.allowance_until_us) return false;
  } else if (!e.period_key.empty() && !s.subscription.granted_periods.insert(e.period_key).second) {
    return false;  // one allowance per period
  }
  const std::string source = bucket_source_of_grant(e.source);
  if (source == kBucketPack) {
    // A pack names its payment, once per account; its bucket is its own.
    if (e.reference.empty() || e.bucket_id.empty() ||
        !s.refund_references.emplace(pack_reference_key(e.reference), e.amount).second) {
      return false;
    }
  } else if (!e.reference.empty()) {
    return false;
  }
  CreditBucket* bucket =
      bucket_for_credit(s, e.bucket_id, source, e.expires_at_us, e.priority, e.reference);
  if (bucket == nullptr || e.amount <= 0 || !add(bucket->remaining, e.amount)) return false;
  // The newest allowance's period end (a cancellation's free allowance may end before the
  // paid period it replaces would have).
  if (source == kBucketPlanAllowance && e.expires_at_us > 0) s.allowance_until_us = e.expires_at_us;
  return add(s.credits_available, e.amount) && add(s.credits_granted, e.amount);
}
bool apply_body(AccountState& s, const CreditsReserved& e) {
  if (e.amount <= 0) return false;
  const auto place = s.reservations.lower_bound(e.reservation_id);  // one lookup
  if (place != s.reservations.end() && place->first == e.reservation_id) return false;
  std::optional<std::vector<BucketDraw>> draws = e.draws ? e.draws : burn_down_draws(s, e.amount);
  if (!draws || !take_draws(s, *draws, e.amount, true)) return false;
  s.reservations.emplace_hint(place, e.reservation_id,
                              Reservation{e.reservation_id, e.amount, e.feature, e.expires_at_us,
                                          ReservationStatus::kOpen, 0, std::move(*draws)});
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
  CreditBucket* bucket =
      bucket_for_credit(s, e.bucket_id, kBucketRefund, 0, kBucketPriorityDefault);
  if (bucket == nullptr || e.amount <= 0 || !add(bucket->remaining, e.amount)) return false;
  return subtract(s.credits_spent, e.amount) && add(s.credits_available, e.amount);
}
bool apply_body(AccountState& s, const CreditsExpired& e) {
  if (e.amount <= 0) return false;
  if (e.bucket_id.empty()) {  // recorded before buckets
    const auto draws = burn_down_draws(s, e.amount);
    if (!draws || !take_draws(s, *draws, e.amount, false)) return false;
  } else if (!take_draws(s, {{e.bucket_id, e.amount}}, e.amount, false)) {
    return false;
  }
  return subtract(s.credits_available, e.amount) && add(s.credits_expired, e.amount);
}
bool apply_body(AccountState& s, const CreditsRevoked& e) {
  const auto it = s.buckets.find(e.bucket_id);
  if (it == s.buckets.end()) return false;
  CreditBucket& bucket = it->second;
  const bool raises_target = e.target > bucket.revoke_target;
  if (e.amount < 0 || (e.amount == 0 && !raises_target) || bucket.reference.empty() ||
      bucket.reference != e.reference || e.target < bucket.revoke_target ||
      bucket.remaining < e.amount || e.amount > e.target - bucket.revoked) {
    return false;
  }
  bucket.revoke_target = e.target;
  bucket.remaining -= e.amount;
  bucket.revoked += e.amount;
  return subtract(s.credits_available, e.amount) && add(s.credits_expired, e.amount);
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

bool bucket_before(const CreditBucket& a, const CreditBucket& b) {
  const auto key = [](const CreditBucket& bucket) {
    const int64_t expiry =
        bucket.expires_at_us > 0 ? bucket.expires_at_us : std::numeric_limits<int64_t>::max();
    return std::tuple(expiry, bucket.priority, bucket.seq);
  };
  return key(a) < key(b);
}

std::string pack_reference_key(const std::string& payment_reference) {
  return "pack:" + payment_reference;
}

std::string bucket_source_of_grant(const std::string& grant_source) {
  if (grant_source == "stripe" || grant_source == kBucketPlanAllowance) return kBucketPlanAllowance;
  if (grant_source == kBucketPack) return kBucketPack;
  if (grant_source == kBucketPromotional || grant_source == "churnkey") return kBucketPromotional;
  if (grant_source == kBucketRefund) return kBucketRefund;
  return kBucketAdmin;
}

std::optional<std::vector<BucketDraw>> burn_down_draws(const AccountState& s, int64_t amount) {
  std::vector<BucketDraw> draws;
  for (const CreditBucket* bucket : buckets_in_burn_down_order(s)) {
    if (amount == 0) break;
    const int64_t take = std::min(amount, bucket->remaining);
    if (take > 0) draws.push_back({bucket->id, take});
    amount -= take;
  }
  if (amount != 0) return std::nullopt;
  return draws;
}

std::vector<const CreditBucket*> buckets_in_burn_down_order(const AccountState& state) {
  std::vector<const CreditBucket*> order;
  for (const auto& [id, bucket] : state.buckets) order.push_back(&bucket);
  std::sort(order.begin(), order.end(),
            [](const CreditBucket* a, const CreditBucket* b) { return bucket_before(*a, *b); });
  return order;
}

FreePeriod free_period_at(int64_t opened_at_us, int64_t now_us) {
  assert(opened_at_us >= 0);
  if (now_us < opened_at_us) return {0, opened_at_us, add_months_us(opened_at_us, 1)};
  constexpr int64_t kLongestMonthUs = 31LL * 86'400'000'000;
  int64_t index = (now_us - opened_at_us) / kLongestMonthUs;  // never more than the answer
  while (add_months_us(opened_at_us, index + 1) <= now_us) ++index;
  return {index, add_months_us(opened_at_us, index), add_months_us(opened_at_us, index + 1)};
}

int64_t free_allowance_due_us(const AccountState& state) {
  if (state.allowance_until_us > 0) return state.allowance_until_us;
  return state.opened_at_us > 0 ? add_months_us(state.opened_at_us, 1) : 0;
}

int64_t credits_due_us(const AccountState& state) {
  int64_t due = 0;
  const auto consider = [&due](int64_t at) {
    if (at > 0 && (due == 0 || at < due)) due = at;
  };
  for (const auto& [id, bucket] : state.buckets) {
    if (bucket.remaining > 0) consider(bucket.expires_at_us);
  }
  return due;
}

bool apply_event(AccountState& state, const EventBody& event) {
  // Every stream starts with AccountOpened; nothing else may come first.
  if (!state.opened && !std::holds_alternative<AccountOpened>(event)) return false;
  const bool applied = std::visit([&state](const auto& e) { return apply_body(state, e); }, event);
  std::erase_if(state.buckets, [](const auto& entry) {
    return entry.second.remaining == 0 && entry.second.reserved == 0;
  });
  return applied && balance_invariants_hold(state);
}

bool balance_invariants_hold(const AccountState& s) {
  if (s.credits_available < 0 || s.credits_reserved < 0 || s.credits_spent < 0 ||
      s.credits_expired < 0) {
    return false;
  }
  int64_t remaining = 0;
  int64_t reserved = 0;
  for (const auto& [id, bucket] : s.buckets) {
    if (bucket.remaining < 0 || bucket.reserved < 0) return false;
    remaining += bucket.remaining;
    reserved += bucket.reserved;
  }
  return remaining == s.credits_available && reserved == s.credits_reserved &&
         s.credits_granted - s.credits_spent - s.credits_expired - s.credits_available -
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
