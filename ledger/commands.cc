// Command fingerprints, outcomes, and the pure decision function (ledger/commands.h).
#include "ledger/commands.h"

#include <rapidjson/document.h>

#include <cassert>
#include <stdexcept>

#include "crypto/digest.h"
#include "ledger/billing_rules.h"
#include "ledger/json_fields.h"
#include "ledger/time_format.h"
#include "unicode/utf8.h"

namespace ledger {
namespace {

constexpr std::size_t kTextFieldMax = 500;  // reasons, references, features
constexpr std::size_t kIdMax = 128;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

bool valid_amount(int64_t amount) { return amount > 0 && amount <= kAmountMax; }
bool valid_text(const std::string& text) { return text.size() <= kTextFieldMax; }
bool valid_id(const std::string& id) { return !id.empty() && id.size() <= kIdMax; }

// What one command decides, before the opening events and balances are added.
struct BodyDecision {
  std::vector<EventBody> events;
  std::vector<OutboxMessage> outbox;
  Outcome outcome;
};

BodyDecision reject(Rejection rejection) {
  BodyDecision decision;
  decision.outcome.rejection = rejection;
  return decision;
}

const Reservation* find_reservation(const AccountState& state, const std::string& id) {
  const auto it = state.reservations.find(id);
  return it == state.reservations.end() ? nullptr : &it->second;
}

// Common checks of commands that settle a reservation: it exists and is still open.
std::optional<BodyDecision> check_settleable(const AccountState& state, const Reservation* r) {
  if (r == nullptr) return reject(Rejection::kReservationNotFound);
  if (r->status != ReservationStatus::kOpen) {
    BodyDecision decision = reject(Rejection::kReservationSettled);
    decision.outcome.reservation_id = r->id;
    decision.outcome.reservation_status = std::string(reservation_status_name(r->status));
    return decision;
  }
  (void)state;
  return std::nullopt;
}

BodyDecision decide_body(const AccountState&, const OpenAccount&, int64_t) { return {}; }

// The live bucket a credit of these terms joins, or "" when it opens a new one.
std::string mergeable_bucket(const AccountState& s, const std::string& source,
                             int64_t expires_at_us, int64_t priority) {
  for (const auto& [id, bucket] : s.buckets) {
    if (id != kLegacyBucketId && bucket.reference.empty() && source != kBucketPack &&
        bucket.source == source && bucket.expires_at_us == expires_at_us &&
        bucket.priority == priority) {
      return id;
    }
  }
  return "";
}

BodyDecision decide_body(const AccountState& s, const GrantCredits& c, int64_t now_us) {
  if (!valid_amount(c.amount)) return reject(Rejection::kInvalidAmount);
  if (!valid_text(c.reason) || !valid_id(c.source) || c.priority < 0 ||
      c.priority > kBucketPriorityMax || (c.expires_at_us != 0 && c.expires_at_us <= now_us)) {
    return reject(Rejection::kInvalidCommand);
  }
  int64_t sum = 0;
  if (__builtin_add_overflow(s.credits_granted, c.amount, &sum)) {
    return reject(Rejection::kBalanceOverflow);
  }
  if (s.buckets.size() >= kBucketsPerAccountMax &&
      mergeable_bucket(s, bucket_source_of_grant(c.source), c.expires_at_us, c.priority).empty()) {
    return reject(Rejection::kBucketLimit);
  }
  BodyDecision decision;
  decision.events.push_back(
      CreditsGranted{c.amount, c.reason, c.source, "", "", c.expires_at_us, c.priority, ""});
  decision.outcome.amount = c.amount;
  return decision;
}

BodyDecision decide_body(const AccountState& s, const ReserveCredits& c, int64_t now_us) {
  if (s.closed) return reject(Rejection::kAccountClosed);
  if (!valid_amount(c.amount)) return reject(Rejection::kInvalidAmount);
  if (!valid_id(c.reservation_id) || c.feature.empty() || c.feature.size() > 64 ||
      c.ttl_s < 1 || c.ttl_s > kReservationTtlMaxS ||
      s.reservations.count(c.reservation_id) != 0) {
    return reject(Rejection::kInvalidCommand);
  }
  if (s.credits_available < c.amount) {
    BodyDecision decision = reject(Rejection::kInsufficientCredits);
    decision.outcome.credits_needed = c.amount;
    return decision;
  }
  const int64_t expires_at_us = now_us + c.ttl_s * 1'000'000;
  BodyDecision decision;
  decision.events.push_back(
      CreditsReserved{c.reservation_id, c.amount, c.feature, expires_at_us, std::nullopt});
  decision.outcome.reservation_id = c.reservation_id;
  decision.outcome.amount = c.amount;
  decision.outcome.expires_at_us = expires_at_us;
  return decision;
}

BodyDecision decide_body(const AccountState& s, const CaptureReservation& c, int64_t now_us) {
  const Reservation* r = find_reservation(s, c.reservation_id);
  // A late capture is reservation_expired whether or not the sweeper has expired the
  // reservation yet: the client's answer does not depend on the sweeper's timing.
  if (r != nullptr && r->status == ReservationStatus::kExpired) {
    return reject(Rejection::kReservationExpired);
  }
  if (auto rejected = check_settleable(s, r)) return *rejected;
  if (!valid_amount(c.amount)) return reject(Rejection::kInvalidAmount);
  if (now_us >= r->expires_at_us) return reject(Rejection::kReservationExpired);
  if (c.amount > r->amount) {
    BodyDecision decision = reject(Rejection::kCaptureExceedsReservation);
    decision.outcome.amount = r->amount;
    return decision;
  }
  BodyDecision decision;
  decision.events.push_back(ReservationCaptured{r->id, c.amount, r->amount - c.amount});
  decision.outcome.reservation_id = r->id;
  decision.outcome.credits_used = c.amount;
  decision.outcome.credits_released = r->amount - c.amount;
  return decision;
}

BodyDecision decide_body(const AccountState& s, const ReleaseReservation& c, int64_t) {
  const Reservation* r = find_reservation(s, c.reservation_id);
  if (auto rejected = check_settleable(s, r)) return *rejected;
  BodyDecision decision;
  decision.events.push_back(ReservationReleased{r->id, r->amount});
  decision.outcome.reservation_id = r->id;
  decision.outcome.credits_released = r->amount;
  return decision;
}

BodyDecision decide_body(const AccountState& s, const ExpireReservation& c, int64_t now_us) {
  const Reservation* r = find_reservation(s, c.reservation_id);
  if (auto rejected = check_settleable(s, r)) return *rejected;
  if (now_us < r->expires_at_us) return reject(Rejection::kInvalidCommand);
  BodyDecision decision;
  decision.events.push_back(ReservationExpired{r->id, r->amount});
  decision.outcome.reservation_id = r->id;
  decision.outcome.credits_released = r->amount;
  return decision;
}

BodyDecision decide_body(const AccountState& s, const RefundCredits& c, int64_t) {
  if (!valid_amount(c.amount)) return reject(Rejection::kInvalidAmount);
  // "pack:" references are the packs' (pack_reference_key): a refund never takes one.
  if (!valid_text(c.reason) || !valid_text(c.reference) || c.reference.rfind("pack:", 0) == 0) {
    return reject(Rejection::kInvalidCommand);
  }
  if (!c.reference.empty() && s.refund_references.count(c.reference) != 0) {
    return reject(Rejection::kRefundReferenceUsed);
  }
  if (c.amount > s.credits_spent) return reject(Rejection::kRefundExceedsSpent);
  BodyDecision decision;
  decision.events.push_back(CreditsRefunded{c.amount, c.reason, c.reference, ""});
  decision.outcome.amount = c.amount;
  return decision;
}

BodyDecision decide_body(const AccountState& s, const StripeBillingEvent& c, int64_t now_us,
                         const PlanCatalog& plans) {
  BillingDecision billing = decide_billing(s, c, plans, now_us);
  if (billing.rejection != Rejection::kNone) return reject(billing.rejection);
  BodyDecision decision;
  decision.events = std::move(billing.events);
  decision.outbox = std::move(billing.outbox);
  decision.outcome.note = billing.note;
  return decision;
}

BodyDecision decide_body(const AccountState& s, const ChurnkeySessionEvent& c, int64_t) {
  if (!valid_id(c.delivery_id) || c.result.empty() ||
      c.feedback.size() > kChurnkeyFeedbackStoredBytesMax) {
    return reject(Rejection::kInvalidCommand);
  }
  const SubscriptionState& sub = s.subscription;
  ChurnkeySessionRecorded recorded{c.delivery_id,  c.event_name,      c.result,
                                   c.session_id,   c.offer_type,      c.survey_response,
                                   c.feedback,     c.test_mode,       "recorded"};
  bool call_stripe = false;
  if (c.result == "cancel") {
    if (c.test_mode) {
      recorded.action = "test_mode";
    } else if (sub.subscription_id.empty() || sub.status == "canceled" ||
               sub.status == "incomplete" || sub.status == "incomplete_expired") {
      recorded.action = "no_subscription";
    } else if (!c.subscription_id.empty() && c.subscription_id != sub.subscription_id) {
      // About another (older) subscription of the customer: never cancel the current one.
      recorded.action = "other_subscription";
    } else {
      // Asked again while pending (e.g. an earlier call that Stripe refused): Stripe is
      // asked again, under this delivery's key; the snapshot is not repeated.
      recorded.action = sub.cancel_at_period_end ? "already_pending" : "cancel_requested";
      call_stripe = true;
    }
  }
  const bool first_request = call_stripe && !sub.cancel_at_period_end;
  BodyDecision decision;
  decision.outcome.note = recorded.action;
  decision.events.push_back(std::move(recorded));
  if (first_request) {
    decision.events.push_back(SubscriptionChanged{
        sub.subscription_id, sub.customer_id, sub.status, sub.plan_id, sub.scheduled_plan_id,
        sub.period_start_s, sub.period_end_s, true, "", sub.watermark_created_s});
  }
  if (call_stripe) {
    decision.outbox.push_back(
        {kStripeCancelAtPeriodEndKind, json::object_text([&](json::Writer& w) {
           json::put(w, "account_id", s.account_id);
           json::put(w, "subscription_id", sub.subscription_id);
           json::put(w, "delivery_id", c.delivery_id);
           // Printable whatever the delivery id holds: it becomes an HTTP header.
           json::put(w, "idempotency_key",
                     "churnkey-cancel-" + crypto::hex_encode(crypto::sha256(c.delivery_id)));
         })});
  }
  if (first_request) {
    decision.outbox.push_back(
        {kCancellationConfirmedKind, json::object_text([&](json::Writer& w) {
           json::put(w, "account_id", s.account_id);
           json::put(w, "subscription_id", sub.subscription_id);
           json::put(w, "period_end_s", sub.period_end_s);
         })});
  }
  return decision;
}

BodyDecision decide_body(const AccountState& s, const ShopifyWebhookEvent& c, int64_t) {
  if (!valid_id(c.webhook_id) || c.topic.empty()) return reject(Rejection::kInvalidCommand);
  ShopifyWebhookRecorded recorded{c.webhook_id, c.event_id, c.topic, c.shop_id, c.customer_id,
                                  "recorded"};
  bool close = false;
  if (c.topic == "app/uninstalled") {
    close = !s.closed;
    recorded.action = close ? "closed" : "already_closed";
  } else if (c.topic == "customers/data_request") {
    recorded.action = "data_request_recorded";
  } else if (c.topic == "customers/redact" || c.topic == "shop/redact") {
    recorded.action = "erasure_requested";
  }
  BodyDecision decision;
  decision.outcome.note = recorded.action;
  decision.events.push_back(std::move(recorded));
  if (close) decision.events.push_back(AccountClosed{"shopify " + c.topic});
  return decision;
}

BodyDecision decide_body(const AccountState& s, const ReopenAccount& c, int64_t) {
  if (c.reason.empty()) return reject(Rejection::kInvalidCommand);
  BodyDecision decision;
  decision.outcome.note = s.closed ? "reopened" : "already_open";
  if (s.closed) decision.events.push_back(AccountReopened{c.reason});
  return decision;
}

BodyDecision decide_body(const AccountState&, const ErasePersonalData& c, int64_t) {
  // A customer erasure names the customer's id when the request had one (it may name them
  // by e-mail or phone only).
  const bool scoped = c.scope == "account" ? c.customer_id.empty()
                      : c.scope == "customer" ? c.customer_id.empty() || valid_id(c.customer_id)
                                              : false;
  if (!scoped || c.deliveries < 0 || c.requested_by.empty()) {
    return reject(Rejection::kInvalidCommand);
  }
  BodyDecision decision;
  decision.outcome.note = "erased";
  decision.events.push_back(
      PersonalDataErased{c.scope, c.customer_id, c.deliveries, c.requested_by});
  return decision;
}

// Its only effect is the credits due, which decide_and_apply settles before every command.
BodyDecision decide_body(const AccountState&, const SettleCreditsDue&, int64_t) { return {}; }

template <class Body>
BodyDecision decide_body(const AccountState& s, const Body& c, int64_t now_us, const PlanCatalog&) {
  return decide_body(s, c, now_us);
}

// The events that open an account: the free plan and its allowance for the first month.
std::vector<EventBody> opening_events(const PlanCatalog& plans, int64_t now_us) {
  const Plan& free_plan = plans.free_plan();
  std::vector<EventBody> events{AccountOpened{free_plan.id}};
  if (free_plan.monthly_credits > 0) {
    events.push_back(CreditsGranted{free_plan.monthly_credits, "free plan allowance",
                                    kBucketPlanAllowance, "", "", add_months_us(now_us, 1),
                                    kBucketPriorityDefault, ""});
  }
  return events;
}

// Gives a decided event its bucket: a grant or refund the bucket of its terms (an existing
// one or the next new one), a reservation its draws in burn-down order.
void assign_bucket(const AccountState& s, EventBody& event) {
  const auto bucket_of = [&s](const std::string& source, int64_t expires_at_us, int64_t priority) {
    std::string id = mergeable_bucket(s, source, expires_at_us, priority);
    return id.empty() ? "b" + std::to_string(s.buckets_created + 1) : id;
  };
  if (auto* grant = std::get_if<CreditsGranted>(&event)) {
    // mergeable_bucket never offers a pack's bucket: a pack gets a new one.
    grant->bucket_id =
        bucket_of(bucket_source_of_grant(grant->source), grant->expires_at_us, grant->priority);
  } else if (auto* refund = std::get_if<CreditsRefunded>(&event)) {
    refund->bucket_id = bucket_of(kBucketRefund, 0, kBucketPriorityDefault);
  } else if (auto* reserved = std::get_if<CreditsReserved>(&event)) {
    reserved->draws = burn_down_draws(s, reserved->amount);
    assert(reserved->draws && "a decided reservation has the credits");
  } else if (const auto* expired = std::get_if<CreditsExpired>(&event)) {
    assert(!expired->bucket_id.empty() && "a decided expiry names its bucket");
    (void)expired;
  }
}

// Packs whose payment's refunds are owed credits that came back (a release of credits
// reserved when the refund arrived): one CreditsRevoked each.
std::vector<EventBody> revocations_due(const AccountState& s) {
  std::vector<EventBody> events;
  for (const auto& [id, bucket] : s.buckets) {
    const int64_t owed = bucket.revoke_target - bucket.revoked;
    if (!bucket.reference.empty() && owed > 0 && bucket.remaining > 0) {
      events.push_back(CreditsRevoked{std::min(owed, bucket.remaining), "pack refunded", id,
                                      bucket.reference, bucket.revoke_target});
    }
  }
  return events;
}

// Buckets whose expiry has passed with credits left: one CreditsExpired each.
std::vector<EventBody> expiries_due(const AccountState& s, int64_t now_us) {
  std::vector<EventBody> events;
  for (const CreditBucket* bucket : buckets_in_burn_down_order(s)) {
    if (bucket->expires_at_us > 0 && bucket->expires_at_us <= now_us && bucket->remaining > 0) {
      events.push_back(CreditsExpired{bucket->remaining, "bucket expired", bucket->id});
    }
  }
  return events;
}

// A free account whose monthly allowance is due: what is left of its plan allowance
// expires and the allowance of the month (counted from opening) that holds `now_us` is
// granted, once: a month nobody used is skipped, not granted late.
std::vector<EventBody> free_refresh_due(const AccountState& s, int64_t now_us,
                                        const PlanCatalog& plans) {
  const Plan& free_plan = plans.free_plan();
  if (s.plan_id != free_plan.id || s.closed || free_plan.monthly_credits <= 0 ||
      s.opened_at_us <= 0 || now_us < free_allowance_due_us(s)) {
    return {};
  }
  const FreePeriod period = free_period_at(s.opened_at_us, now_us);
  if (period.end_us <= s.allowance_until_us) return {};
  std::vector<EventBody> events;
  for (const CreditBucket* bucket : buckets_in_burn_down_order(s)) {
    if (bucket->source == kBucketPlanAllowance && bucket->remaining > 0) {
      events.push_back(CreditsExpired{bucket->remaining, "free allowance refresh", bucket->id});
    }
  }
  events.push_back(CreditsGranted{free_plan.monthly_credits, "free plan allowance",
                                  kBucketPlanAllowance, "free:" + std::to_string(period.index), "",
                                  period.end_us, kBucketPriorityDefault, ""});
  return events;
}

// The low-balance e-mail when a debit crossed the plan's threshold downwards.
void queue_low_balance_alert(const AccountState& s, int64_t available_before,
                             const PlanCatalog& plans, std::vector<OutboxMessage>& outbox) {
  const Plan* plan = plans.find(s.plan_id);
  if (plan == nullptr || plan->low_balance_threshold <= 0) return;
  const int64_t threshold = plan->low_balance_threshold;
  if (available_before < threshold || s.credits_available >= threshold) return;
  outbox.push_back({kLowBalanceKind, json::object_text([&](json::Writer& w) {
                      json::put(w, "account_id", s.account_id);
                      json::put(w, "plan_id", s.plan_id);
                      json::put(w, "credits_available", s.credits_available);
                      json::put(w, "threshold", threshold);
                    })});
}

void fill_balances(Outcome& outcome, const AccountState& state) {
  outcome.account_id = state.account_id;
  outcome.plan_id = state.plan_id;
  outcome.credits_available = state.credits_available;
  outcome.credits_reserved = state.credits_reserved;
  outcome.version = state.version;
}

}  // namespace

bool command_is_storable(const Command& command) {
  bool storable = true;
  const auto check = [&storable](const std::string& text, std::size_t bytes_max) {
    storable = storable && text.size() <= bytes_max && unicode::is_storable_text(text);
  };
  check(command.account_id, kIdMax);
  check(command.idempotency_key, kIdempotencyKeyBytesMax);
  for (const std::string* text :
       {&command.metadata.actor, &command.metadata.source, &command.metadata.correlation_id,
        &command.metadata.causation_id, &command.metadata.idempotency_key}) {
    check(*text, kCommandTextBytesMax);
  }
  std::visit(Overloaded{
                 [&](const OpenAccount&) {},
                 [&](const GrantCredits& c) {
                   check(c.reason, kCommandTextBytesMax), check(c.source, kIdMax);
                 },
                 [&](const ReserveCredits& c) {
                   check(c.feature, kCommandTextBytesMax), check(c.reservation_id, kIdMax);
                 },
                 [&](const CaptureReservation& c) { check(c.reservation_id, kIdMax); },
                 [&](const ReleaseReservation& c) { check(c.reservation_id, kIdMax); },
                 [&](const ExpireReservation& c) { check(c.reservation_id, kIdMax); },
                 [&](const RefundCredits& c) {
                   check(c.reason, kCommandTextBytesMax), check(c.reference, kCommandTextBytesMax);
                 },
                 [&](const StripeBillingEvent& c) {
                   for (const std::string* text :
                        {&c.stripe_event_id, &c.type, &c.customer_id, &c.subscription_id,
                         &c.plan_id, &c.status, &c.billing_reason, &c.invoice_id, &c.pack_id,
                         &c.payment_reference, &c.charge_id}) {
                     check(*text, kCommandTextBytesMax);
                   }
                 },
                 [&](const ChurnkeySessionEvent& c) {
                   for (const std::string* text :
                        {&c.delivery_id, &c.event_name, &c.result, &c.session_id, &c.offer_type,
                         &c.survey_response, &c.subscription_id}) {
                     check(*text, kCommandTextBytesMax);
                   }
                   check(c.feedback, kChurnkeyFeedbackStoredBytesMax);
                 },
                 [&](const ShopifyWebhookEvent& c) {
                   for (const std::string* text :
                        {&c.webhook_id, &c.event_id, &c.topic, &c.shop_id, &c.customer_id}) {
                     check(*text, kIdMax * 2);
                   }
                 },
                 [&](const ErasePersonalData& c) {
                   check(c.scope, kIdMax), check(c.customer_id, kIdMax),
                       check(c.requested_by, kCommandTextBytesMax);
                 },
                 [&](const ReopenAccount& c) { check(c.reason, kCommandTextBytesMax); },
                 [&](const SettleCreditsDue&) {},
             },
             command.body);
  return storable;
}

std::string command_fingerprint(const Command& command) {
  std::string canonical = command.account_id;
  canonical.push_back('\0');
  const auto field = [&canonical](const std::string& value) {
    canonical += std::to_string(value.size());
    canonical.push_back(':');
    canonical += value;
  };
  std::visit(Overloaded{
                 [&](const OpenAccount&) { field("open"); },
                 [&](const GrantCredits& c) {
                   field("grant"), field(std::to_string(c.amount)), field(c.reason), field(c.source);
                   // Terms beyond the defaults only: keys stored before buckets stay valid.
                   if (c.expires_at_us != 0 || c.priority != kBucketPriorityDefault) {
                     field(std::to_string(c.expires_at_us)), field(std::to_string(c.priority));
                   }
                 },
                 [&](const ReserveCredits& c) {
                   field("reserve"), field(std::to_string(c.amount)), field(c.feature),
                       field(std::to_string(c.ttl_s));
                 },
                 [&](const CaptureReservation& c) {
                   field("capture"), field(c.reservation_id), field(std::to_string(c.amount));
                 },
                 [&](const ReleaseReservation& c) { field("release"), field(c.reservation_id); },
                 [&](const ExpireReservation& c) { field("expire"), field(c.reservation_id); },
                 [&](const RefundCredits& c) {
                   field("refund"), field(std::to_string(c.amount)), field(c.reason),
                       field(c.reference);
                 },
                 [&](const StripeBillingEvent& c) {
                   field("stripe"), field(c.stripe_event_id), field(c.type),
                       field(std::to_string(c.created_s));
                 },
                 [&](const ChurnkeySessionEvent& c) {
                   field("churnkey"), field(c.delivery_id), field(c.result),
                       field(c.subscription_id), field(c.test_mode ? "test" : "live");
                 },
                 [&](const ShopifyWebhookEvent& c) {
                   field("shopify"), field(c.webhook_id), field(c.topic);
                 },
                 [&](const ErasePersonalData& c) {
                   field("erase"), field(c.scope), field(c.customer_id),
                       field(std::to_string(c.deliveries)), field(c.requested_by);
                 },
                 [&](const ReopenAccount& c) { field("reopen"), field(c.reason); },
                 [&](const SettleCreditsDue& c) {
                   field("settle_credits_due"), field(c.refresh_free_allowance ? "refresh" : "");
                 },
             },
             command.body);
  return crypto::hex_encode(crypto::sha256(canonical));
}

std::string_view rejection_code(Rejection rejection) {
  switch (rejection) {
    case Rejection::kNone:
      return "ok";
    case Rejection::kInvalidCommand:
      return "invalid_request";
    case Rejection::kInvalidAmount:
      return "invalid_amount";
    case Rejection::kInsufficientCredits:
      return "insufficient_credits";
    case Rejection::kReservationNotFound:
      return "reservation_not_found";
    case Rejection::kReservationSettled:
      return "reservation_settled";
    case Rejection::kReservationExpired:
      return "reservation_expired";
    case Rejection::kCaptureExceedsReservation:
      return "capture_exceeds_reservation";
    case Rejection::kRefundExceedsSpent:
      return "refund_exceeds_spent";
    case Rejection::kBalanceOverflow:
      return "balance_overflow";
    case Rejection::kIdempotencyConflict:
      return "idempotency_conflict";
    case Rejection::kRefundReferenceUsed:
      return "refund_reference_used";
    case Rejection::kAccountNotFound:
      return "account_not_found";
    case Rejection::kAccountClosed:
      return "account_closed";
    case Rejection::kBucketLimit:
      return "bucket_limit_reached";
  }
  return "invalid_request";
}

namespace {
Rejection rejection_from_code(std::string_view code) {
  for (int i = 0; i <= static_cast<int>(kRejectionLast); ++i) {
    const auto rejection = static_cast<Rejection>(i);
    if (rejection_code(rejection) == code) return rejection;
  }
  throw std::runtime_error("stored outcome has an unknown rejection code");
}
}  // namespace

std::string Outcome::to_json() const {
  rapidjson::StringBuffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  json::put(w, "result", rejection_code(rejection));
  json::put(w, "account_id", account_id);
  json::put(w, "plan_id", plan_id);
  json::put(w, "reservation_id", reservation_id);
  json::put(w, "reservation_status", reservation_status);
  if (!bucket_id.empty()) json::put(w, "bucket_id", bucket_id);
  json::put(w, "amount", amount);
  json::put(w, "expires_at_us", expires_at_us);
  json::put(w, "credits_used", credits_used);
  json::put(w, "credits_released", credits_released);
  json::put(w, "credits_needed", credits_needed);
  json::put(w, "credits_available", credits_available);
  json::put(w, "credits_reserved", credits_reserved);
  json::put(w, "version", version);
  json::put(w, "note", note);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Outcome Outcome::from_json(std::string_view text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError() || !d.IsObject()) throw std::runtime_error("stored outcome is not JSON");
  // Forward compatible: a field this version does not know is ignored, a field an older
  // version did not write takes its default; a field present with the wrong type is corrupt.
  const auto str = [&d](const char* key, std::string& target) {
    if (!d.HasMember(key)) return;
    auto value = json::get_string(d, key);
    if (!value) throw std::runtime_error(std::string("stored outcome field ") + key + " is not a string");
    target = std::move(*value);
  };
  const auto num = [&d](const char* key, int64_t& target) {
    if (!d.HasMember(key)) return;
    auto value = json::get_int64(d, key);
    if (!value) throw std::runtime_error(std::string("stored outcome field ") + key + " is not an integer");
    target = *value;
  };
  Outcome o;
  std::string result;
  str("result", result);
  if (result.empty()) throw std::runtime_error("stored outcome lacks its result");
  o.rejection = rejection_from_code(result);
  str("account_id", o.account_id);
  str("plan_id", o.plan_id);
  str("reservation_id", o.reservation_id);
  str("reservation_status", o.reservation_status);
  str("bucket_id", o.bucket_id);
  num("amount", o.amount);
  num("expires_at_us", o.expires_at_us);
  num("credits_used", o.credits_used);
  num("credits_released", o.credits_released);
  num("credits_needed", o.credits_needed);
  num("credits_available", o.credits_available);
  num("credits_reserved", o.credits_reserved);
  num("version", o.version);
  str("note", o.note);
  return o;
}

Decision decide_and_apply(AccountState& state, const Command& command, int64_t now_us,
                          const PlanCatalog& plans) {
  assert(!command.account_id.empty());
  assert(state.account_id == command.account_id);
  Decision decision;
  if (!state.opened && !command.may_open_account) {
    decision.outcome.rejection = Rejection::kAccountNotFound;
    fill_balances(decision.outcome, state);
    return decision;
  }
  // Decided on a copy: a rejection leaves `state` as it was.
  AccountState work = state;
  const auto append = [&work, &decision](EventBody event) {
    assign_bucket(work, event);
    [[maybe_unused]] const bool applied = apply_event(work, event);
    assert(applied && "a decided event must apply");
    decision.events.push_back(std::move(event));
  };
  // An account opens on first use; the opening only lands if the command is accepted.
  if (!work.opened) {
    work.opened_at_us = now_us;
    for (EventBody& event : opening_events(plans, now_us)) append(std::move(event));
  }
  for (EventBody& event : expiries_due(work, now_us)) append(std::move(event));
  const auto* settle = std::get_if<SettleCreditsDue>(&command.body);
  if (settle == nullptr || settle->refresh_free_allowance) {
    for (EventBody& event : free_refresh_due(work, now_us, plans)) append(std::move(event));
  }
  BodyDecision body =
      std::visit([&](const auto& c) { return decide_body(work, c, now_us, plans); }, command.body);
  decision.outcome = std::move(body.outcome);
  decision.outbox = std::move(body.outbox);
  if (!decision.outcome.ok()) {
    decision.events.clear();
    decision.outbox.clear();
    fill_balances(decision.outcome, work);
    decision.outcome.version = state.version;
    return decision;
  }
  const int64_t available_before = work.credits_available;
  for (EventBody& event : body.events) {
    append(std::move(event));
    if (const auto* grant = std::get_if<CreditsGranted>(&decision.events.back());
        grant && std::holds_alternative<GrantCredits>(command.body)) {
      decision.outcome.bucket_id = grant->bucket_id;
    }
  }
  if (std::holds_alternative<ReserveCredits>(command.body)) {
    queue_low_balance_alert(work, available_before, plans, decision.outbox);
  }
  // Credits a release gave back to a refunded pack are taken back, and to a bucket that
  // expired meanwhile expire, now.
  for (EventBody& event : revocations_due(work)) append(std::move(event));
  for (EventBody& event : expiries_due(work, now_us)) append(std::move(event));
  if (std::holds_alternative<SettleCreditsDue>(command.body)) {
    decision.outcome.note = decision.events.empty() ? "nothing_due" : "settled";
  }
  work.version += static_cast<int64_t>(decision.events.size());
  state = std::move(work);
  fill_balances(decision.outcome, state);
  assert(balance_invariants_hold(state));
  return decision;
}

}  // namespace ledger
