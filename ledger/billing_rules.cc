// Stripe billing rules (ledger/billing_rules.h).
#include "ledger/billing_rules.h"

#include <algorithm>
#include <cassert>

#include "ledger/json_fields.h"
#include "ledger/time_format.h"

namespace ledger {
namespace {

// Invoices that open a subscription period (an empty reason: payloads that predate it).
bool starts_a_period(const std::string& billing_reason) {
  return billing_reason.empty() || billing_reason == "subscription_create" ||
         billing_reason == "subscription_cycle";
}

// A paid renewal of the current, live subscription for its current (or a newer) period that
// arrives after a newer event (a retried delivery): the paid period must not lose its grant.
// A deletion is final, and an older period's grant would undo a newer one: both excluded.
bool is_late_renewal(const AccountState& state, const StripeBillingEvent& event) {
  const SubscriptionState& sub = state.subscription;
  return event.type == "invoice.paid" && event.billing_reason == "subscription_cycle" &&
         event.subscription_id == sub.subscription_id && sub.status != "canceled" &&
         event.period_start_s > 0 && event.period_start_s >= sub.period_start_s;
}

// Builds one decision; the running `available` tracks what a reset would forfeit.
class BillingDecider {
 public:
  BillingDecider(const AccountState& state, const StripeBillingEvent& event,
                 const PlanCatalog& plans, int64_t now_us)
      : state_(state), event_(event), plans_(plans), now_us_(now_us), next_(state.subscription) {
    next_.subscription_id = event.subscription_id;
    if (!event.customer_id.empty()) next_.customer_id = event.customer_id;
    if (event.period_start_s > 0) next_.period_start_s = event.period_start_s;
    if (event.period_end_s > 0) next_.period_end_s = event.period_end_s;
  }

  BillingDecision decide() {
    const Plan* event_plan = nullptr;
    if (!event_.plan_id.empty()) {
      event_plan = plans_.find(event_.plan_id);
      if (event_plan == nullptr) return rejected();
    }
    if (event_.type == "checkout.session.completed") return checkout(event_plan);
    if (event_.type == "invoice.paid") return invoice_paid(event_plan);
    if (event_.type == "invoice.payment_failed") return payment_failed();
    if (event_.type == "customer.subscription.updated") return subscription_updated(event_plan);
    if (event_.type == "customer.subscription.deleted") return subscription_deleted();
    decision_.note = "ignored";
    return std::move(decision_);
  }

  // A renewal invoice older than the state: its period still gets its one allowance, at the
  // current plan (the newer state decides the plan), and nothing else changes.
  BillingDecision late_renewal() {
    const Plan* plan = plans_.find(state_.plan_id);
    if (plan == nullptr) return rejected();
    reset_for_period(invoice_period_key(event_), plan->monthly_credits,
                     period_end_us(event_.period_end_s));
    for (auto& e : credit_events_) decision_.events.push_back(std::move(e));
    if (decision_.note.empty()) decision_.note = "late_renewal";
    return std::move(decision_);
  }

 private:
  BillingDecision rejected() {
    decision_.rejection = Rejection::kInvalidCommand;
    return std::move(decision_);
  }

  // The plan the subscription is on, falling back to the account's plan.
  const Plan* current_subscription_plan() const {
    const Plan* plan = next_.plan_id.empty() ? nullptr : plans_.find(next_.plan_id);
    return plan != nullptr ? plan : plans_.find(state_.plan_id);
  }

  BillingDecision checkout(const Plan* event_plan) {
    const Plan* plan = event_plan != nullptr ? event_plan : current_subscription_plan();
    if (plan == nullptr || plan->id == PlanCatalog::kFreePlanId) return rejected();
    next_.status = "active";
    set_plan(*plan);
    reset_for_period(event_.subscription_id + ":first", plan->monthly_credits,
                     period_end_us(event_.period_end_s));
    return finish();
  }

  BillingDecision invoice_paid(const Plan* event_plan) {
    if (!starts_a_period(event_.billing_reason)) {
      // A proration, manual or threshold invoice pays for a change already applied (the
      // upgrade grant came with customer.subscription.updated): no reset, no plan change.
      next_.status = "active";
      return finish();
    }
    const Plan* plan = event_plan != nullptr ? event_plan : current_subscription_plan();
    if (plan == nullptr) return rejected();
    next_.status = "active";
    next_.scheduled_plan_id.clear();
    set_plan(*plan);
    reset_for_period(invoice_period_key(event_), plan->monthly_credits,
                     period_end_us(event_.period_end_s));
    return finish();
  }

  BillingDecision payment_failed() {
    next_.status = "past_due";
    decision_.outbox.push_back({"email.payment_failed", json::object_text([&](json::Writer& w) {
                                  json::put(w, "account_id", state_.account_id);
                                  json::put(w, "subscription_id", event_.subscription_id);
                                  json::put(w, "invoice_id", event_.invoice_id);
                                  json::put(w, "stripe_event_id", event_.stripe_event_id);
                                })});
    return finish();
  }

  BillingDecision subscription_updated(const Plan* event_plan) {
    if (!event_.status.empty()) next_.status = event_.status;
    next_.cancel_at_period_end = event_.cancel_at_period_end;
    const Plan* current = plans_.find(state_.plan_id);
    if (event_plan != nullptr && current != nullptr && event_plan->id != current->id) {
      if (event_plan->monthly_credits > current->monthly_credits) {
        // Upgrade: the new plan now, and the allowance difference once for this period.
        next_.scheduled_plan_id.clear();
        set_plan(*event_plan);
        grant_once(event_.subscription_id + ":upgrade:" + event_plan->id + ":" +
                       std::to_string(next_.period_start_s),
                   event_plan->monthly_credits - current->monthly_credits,
                   std::string(kUpgradeGrantReason), period_end_us(next_.period_end_s));
      } else {
        next_.scheduled_plan_id = event_plan->id;  // downgrade: from the next period
      }
    }
    return finish();
  }

  BillingDecision subscription_deleted() {
    const Plan& free_plan = plans_.free_plan();
    next_.status = "canceled";
    next_.cancel_at_period_end = false;
    next_.scheduled_plan_id.clear();
    set_plan(free_plan);
    // The free allowance until the account's next monthly boundary (then the free refresh).
    const int64_t free_until = state_.opened_at_us > 0
                                   ? free_period_at(state_.opened_at_us, now_us_).end_us
                                   : add_months_us(now_us_, 1);
    reset_for_period(event_.subscription_id + ":deleted", free_plan.monthly_credits, free_until);
    return finish();
  }

  void set_plan(const Plan& plan) {
    next_.plan_id = plan.id;
    if (plan_ != plan.id) {
      plan_events_.push_back(PlanChanged{plan.id, "stripe " + event_.type});
      plan_ = plan.id;
    }
  }

  // A period's end as a bucket expiry: 0 (until the next period's reset) when unknown or
  // already past, so a late invoice never grants credits that expire at once.
  int64_t period_end_us(int64_t period_end_s) const {
    const int64_t end_us = period_end_s * 1'000'000;
    return period_end_s > 0 && end_us > now_us_ ? end_us : 0;
  }

  // Renewal semantics: what is left of the older allowance (and of the legacy bucket, the
  // balance from before buckets) expires and the period's allowance is granted, once.
  void reset_for_period(const std::string& period_key, int64_t allowance, int64_t expires_at_us) {
    if (granted(period_key)) return;
    for (const CreditBucket* bucket : buckets_in_burn_down_order(state_)) {
      const bool allowance_bucket =
          bucket->source == kBucketPlanAllowance || bucket->source == kBucketLegacy;
      if (allowance_bucket && bucket->remaining > 0) {
        credit_events_.push_back(CreditsExpired{bucket->remaining, "period reset", bucket->id});
      }
    }
    grant_once(period_key, allowance, std::string(kAllowanceGrantReason), expires_at_us);
  }

  void grant_once(const std::string& period_key, int64_t amount, const std::string& reason,
                  int64_t expires_at_us) {
    if (granted(period_key) || amount <= 0) return;
    credit_events_.push_back(CreditsGranted{amount, reason, "stripe", period_key, "", expires_at_us,
                                            kBucketPriorityDefault, ""});
    granted_now_.insert(period_key);
  }

  bool granted(const std::string& period_key) {
    if (state_.subscription.granted_periods.count(period_key) != 0 ||
        granted_now_.count(period_key) != 0) {
      decision_.note = "period_already_granted";
      return true;
    }
    return false;
  }

  // The snapshot first (it moves the watermark), then plan and credit events.
  BillingDecision finish() {
    decision_.events.push_back(SubscriptionChanged{
        next_.subscription_id, next_.customer_id, next_.status, next_.plan_id,
        next_.scheduled_plan_id, next_.period_start_s, next_.period_end_s,
        next_.cancel_at_period_end, event_.stripe_event_id, event_.created_s});
    for (auto& e : plan_events_) decision_.events.push_back(std::move(e));
    for (auto& e : credit_events_) decision_.events.push_back(std::move(e));
    if (decision_.note.empty()) decision_.note = "applied";
    return std::move(decision_);
  }

  const AccountState& state_;
  const StripeBillingEvent& event_;
  const PlanCatalog& plans_;
  const int64_t now_us_;
  SubscriptionState next_;
  std::string plan_ = state_.plan_id;
  std::set<std::string> granted_now_;
  std::vector<EventBody> plan_events_;
  std::vector<EventBody> credit_events_;
  BillingDecision decision_;
};

}  // namespace

std::string invoice_period_key(const StripeBillingEvent& event) {
  if (event.billing_reason == "subscription_create") return event.subscription_id + ":first";
  if (event.period_start_s > 0) {
    return event.subscription_id + ":" + std::to_string(event.period_start_s);
  }
  return event.subscription_id + ":invoice:" + event.invoice_id;
}

namespace {

BillingDecision invalid_billing_event() {
  BillingDecision decision;
  decision.rejection = Rejection::kInvalidCommand;
  return decision;
}

constexpr int64_t kDayUs = 86'400'000'000;

// A paid pack checkout: the pack's credits in a bucket of their own, once per payment.
BillingDecision pack_purchase(const AccountState& state, const StripeBillingEvent& event,
                              int64_t now_us) {
  if (event.pack_credits <= 0 || event.pack_credits > kAmountMax ||
      event.payment_reference.empty() || event.pack_expires_after_days < 0) {
    return invalid_billing_event();
  }
  BillingDecision decision;
  if (state.refund_references.count(pack_reference_key(event.payment_reference)) != 0) {
    decision.note = "pack_already_granted";
    return decision;
  }
  int64_t granted = 0;
  if (__builtin_add_overflow(state.credits_granted, event.pack_credits, &granted)) {
    decision.rejection = Rejection::kBalanceOverflow;
    return decision;
  }
  const int64_t expires_at_us =
      event.pack_expires_after_days > 0 ? now_us + event.pack_expires_after_days * kDayUs : 0;
  decision.events.push_back(CreditsGranted{event.pack_credits, "pack " + event.pack_id, kBucketPack,
                                           "", "", expires_at_us, kBucketPriorityDefault,
                                           event.payment_reference});
  decision.note = "pack_granted";
  return decision;
}

// A refunded charge: of the pack bought with it, the refunded share of its credits, less
// what earlier refunds took, at most what the pack has left.
BillingDecision pack_refund(const AccountState& state, const StripeBillingEvent& event) {
  if (event.payment_reference.empty() || event.charge_amount_minor < 0 ||
      event.charge_refunded_minor < 0 ||
      (!event.charge_fully_refunded && event.charge_amount_minor == 0)) {
    return invalid_billing_event();  // a partial refund of an unknown amount
  }
  BillingDecision decision;
  const auto pack = state.refund_references.find(pack_reference_key(event.payment_reference));
  if (pack == state.refund_references.end()) {
    decision.note = "not_a_pack";  // e.g. a subscription invoice's charge
    return decision;
  }
  const int64_t credits = pack->second;
  int64_t share = credits;
  if (!event.charge_fully_refunded && event.charge_amount_minor > 0 &&
      event.charge_refunded_minor < event.charge_amount_minor) {
    __extension__ using Wide = __int128;  // credits x minor units can pass 2^63
    share = static_cast<int64_t>(static_cast<Wide>(credits) * event.charge_refunded_minor /
                                 event.charge_amount_minor);
  }
  decision.note = "nothing_unspent";
  for (const auto& [id, bucket] : state.buckets) {
    if (bucket.reference != event.payment_reference) continue;
    // What is reserved now is taken when it comes back (the target stays on the bucket).
    const int64_t target = std::max(bucket.revoke_target, share);
    const int64_t take = std::min(bucket.remaining, std::max<int64_t>(0, target - bucket.revoked));
    if (take > 0 || target > bucket.revoke_target) {
      decision.events.push_back(CreditsRevoked{take,
                                               "pack refunded (charge " + event.charge_id + ")", id,
                                               event.payment_reference, target});
      decision.note = take > 0 ? "pack_refunded" : "pack_refund_pending";
    }
  }
  return decision;
}

}  // namespace

BillingDecision decide_billing(const AccountState& state, const StripeBillingEvent& event,
                               const PlanCatalog& plans, int64_t now_us) {
  assert(state.opened);
  if (event.stripe_event_id.empty() || event.created_s <= 0) return invalid_billing_event();
  if (!event.pack_id.empty()) return pack_purchase(state, event, now_us);
  if (event.type == "charge.refunded") return pack_refund(state, event);
  if (event.subscription_id.empty()) return invalid_billing_event();
  // Only a checkout or a subscription's first invoice may switch the account to another
  // subscription; the old subscription's later events (its deletion) must not touch it.
  const std::string& current = state.subscription.subscription_id;
  const bool may_switch = event.type == "checkout.session.completed" ||
                          (event.type == "invoice.paid" &&
                           event.billing_reason == "subscription_create");
  if (!current.empty() && current != event.subscription_id && !may_switch) {
    BillingDecision decision;
    decision.note = "other_subscription";
    return decision;
  }
  if (event.created_s < state.subscription.watermark_created_s) {
    if (is_late_renewal(state, event))
      return BillingDecider(state, event, plans, now_us).late_renewal();
    BillingDecision decision;
    decision.note = "superseded";  // an older event never overrides newer state
    return decision;
  }
  return BillingDecider(state, event, plans, now_us).decide();
}

}  // namespace ledger
