// Opening an account and the credits a user sees (usecases/account.h).
#include "usecases/account.h"

#include <utility>

#include "ledger/plans.h"
#include "ledger/time_format.h"

namespace usecases {

std::variant<ledger::Outcome, Refusal> open_account(const CommandSubmitter& submit,
                                                    const std::string& account_id,
                                                    ledger::EventMetadata metadata) {
  const std::string key(kOpenAccountKey);
  metadata.idempotency_key = key;
  Submitted opened = submit(ledger::Command{account_id, key, ledger::OpenAccount{}, metadata});
  if (auto* failure = std::get_if<LedgerFailure>(&opened)) return Refusal(*failure);
  ledger::Outcome& outcome = std::get<ledger::Outcome>(opened);
  if (!outcome.ok()) return Refusal(std::move(outcome));
  return std::move(outcome);
}

std::variant<projections::balances::BalanceView, Refusal> current_credits(
    pg::Connection& reads, const CommandSubmitter& submit, const std::string& account_id,
    const ledger::EventMetadata& metadata) {
  auto view = projections::balances::read(reads, account_id);
  if (!view) {
    auto opened = open_account(submit, account_id, metadata);
    if (auto* refusal = std::get_if<Refusal>(&opened)) return std::move(*refusal);
    view = projections::balances::read(reads, account_id);
    if (!view) return Refusal(LedgerFailure::kUnavailable);  // opened, not visible yet: retry
  }
  // The margin keeps the ledger's clock, which decides, past the due instant too.
  constexpr int64_t kClockMarginUs = 2'000'000;
  if (view->plan_id == ledger::PlanCatalog::kFreePlanId && !view->closed &&
      view->free_allowance_due_us > 0 &&
      view->free_allowance_due_us + kClockMarginUs <= ledger::unix_now_us()) {
    const std::string key = "free-refresh:" + std::to_string(view->free_allowance_due_us);
    ledger::EventMetadata refresh_metadata = metadata;
    refresh_metadata.idempotency_key = key;
    ledger::Command refresh{account_id, key, ledger::SettleCreditsDue{true}, refresh_metadata};
    refresh.may_open_account = false;
    if (std::holds_alternative<ledger::Outcome>(submit(std::move(refresh)))) {
      if (auto fresh = projections::balances::read(reads, account_id)) view = std::move(fresh);
    }
  }
  return std::move(*view);
}

std::variant<const ledger::Plan*, Refusal> account_plan(pg::Connection& reads,
                                                        const ledger::PlanCatalog& plans,
                                                        const CommandSubmitter& submit,
                                                        const std::string& account_id,
                                                        const ledger::EventMetadata& metadata) {
  std::string plan_id;
  if (auto view = projections::balances::read(reads, account_id)) {
    plan_id = std::move(view->plan_id);
  } else {
    auto opened = open_account(submit, account_id, metadata);
    if (auto* refusal = std::get_if<Refusal>(&opened)) return std::move(*refusal);
    plan_id = std::get<ledger::Outcome>(opened).plan_id;
  }
  const ledger::Plan* plan = plans.find(plan_id);
  if (plan == nullptr) return Refusal(UnknownPlan{plan_id});
  return plan;
}

}  // namespace usecases
