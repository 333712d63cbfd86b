// The pure rules that turn a Stripe billing event into account events (see
// StripeBillingEvent in ledger/commands.h for the rules in words).
#pragma once

#include <string>
#include <vector>

#include "ledger/account.h"
#include "ledger/commands.h"
#include "ledger/plans.h"

namespace ledger {

struct BillingDecision {
  Rejection rejection = Rejection::kNone;
  std::vector<EventBody> events;
  std::vector<OutboxMessage> outbox;
  std::string note;  // applied | superseded | ignored | period_already_granted
};

// Decides `event` against the (opened) account state. Pure.
BillingDecision decide_billing(const AccountState& state, const StripeBillingEvent& event,
                               const PlanCatalog& plans);

// The period key of an invoice: the first invoice and checkout share "<sub>:first".
std::string invoice_period_key(const StripeBillingEvent& event);

}  // namespace ledger
