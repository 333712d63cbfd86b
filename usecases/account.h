// The account use cases below the HTTP transport: how the ledger is reached (a command's
// outcome or why there is none), opening an account on its first request, and the credits
// a user sees (with the free plan's monthly refresh on the first request after it is due).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "ledger/commands.h"
#include "ledger/pg.h"
#include "ledger/plans.h"
#include "projections/balances.h"

namespace usecases {

// Why the ledger gave no outcome for a command (the committer's exceptions as values).
enum class LedgerFailure {
  kUnavailable,       // the database or the committer is down: nothing was done
  kOverloaded,        // the committer's queue is full: nothing was done
  kDeadlineExceeded,  // not decided by the caller's deadline: dropped, nothing was done
  kOutcomeUnknown,    // the connection broke during COMMIT: repeat the key to learn it
};

using Submitted = std::variant<ledger::Outcome, LedgerFailure>;
// How a use case reaches the ledger: a bounded wait for one command's outcome.
using CommandSubmitter = std::function<Submitted(ledger::Command)>;

// The key of a request was used by a request that is running or was charged.
struct IdempotencyConflict {};
// The ledger names a plan the plans file no longer defines (a deployment error).
struct UnknownPlan {
  std::string plan_id;
};

// Why a charge step ended the request: the ledger's rejection (its outcome: insufficient
// credits, a conflicting key, a closed account...), a ledger failure, or one of the above.
using Refusal = std::variant<ledger::Outcome, LedgerFailure, IdempotencyConflict, UnknownPlan>;

// The connection a use case reads through, asked for at each read: the caller's
// per-thread connection (http/read_connection.h), replaced after it breaks.
using ReadConnection = std::function<pg::Connection&()>;

// The fixed key under which an account opens on its first request: whichever request
// comes first opens it, the others replay that outcome.
inline constexpr std::string_view kOpenAccountKey = "open-account";

// Opens `account_id` (free plan) unless it is open. The outcome names the plan.
std::variant<ledger::Outcome, Refusal> open_account(const CommandSubmitter& submit,
                                                    const std::string& account_id,
                                                    ledger::EventMetadata metadata);

// The balance of `account_id` as GET /api/v1/credits shows it: the account opens on its first
// request, and a free account whose monthly allowance is due gets it now (its first use
// after the boundary; the sweeper never refreshes dormant accounts). A failed refresh is not
// an error: the balance as it stands is shown and the next request refreshes.
std::variant<projections::balances::BalanceView, Refusal> current_credits(
    pg::Connection& reads, const CommandSubmitter& submit, const std::string& account_id,
    const ledger::EventMetadata& metadata);

// The plan of `account_id`, opening the account (free plan) on its first request.
// `metadata` is the request's (actor, correlation).
std::variant<const ledger::Plan*, Refusal> account_plan(pg::Connection& reads,
                                                        const ledger::PlanCatalog& plans,
                                                        const CommandSubmitter& submit,
                                                        const std::string& account_id,
                                                        const ledger::EventMetadata& metadata);

}  // namespace usecases
