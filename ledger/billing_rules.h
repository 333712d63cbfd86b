// The pure rules that turn a Stripe billing event into account events (see
// StripeBillingEvent in ledger/commands.h for the rules in words).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ledger/account.h"
#include "ledger/commands.h"
#include "ledger/plans.h"

namespace ledger {

// The reasons of the grants these rules make (CreditsGranted.reason), which the reconcile
// tool matches against the Stripe deliveries that produce them.
inline constexpr std::string_view kAllowanceGrantReason = "plan allowance";
inline constexpr std::string_view kUpgradeGrantReason = "plan upgrade";

struct BillingDecision {
  Rejection rejection = Rejection::kNone;
  std::vector<EventBody> events;
  std::vector<OutboxMessage> outbox;
  std::string note;  // applied | superseded | ignored | period_already_granted
};

// Decides `event` against the (opened) account state at `now_us`. Pure. A period's allowance
// is a plan_allowance bucket expiring at the period's end (when the event names an end still
// ahead); a new period expires what is left of the older allowance and legacy buckets,
// never packs, admin, promotional or refund credits.
BillingDecision decide_billing(const AccountState& state, const StripeBillingEvent& event,
                               const PlanCatalog& plans, int64_t now_us);

// The period key of an invoice: the first invoice and checkout share "<sub>:first".
std::string invoice_period_key(const StripeBillingEvent& event);

}  // namespace ledger
