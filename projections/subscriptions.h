// The subscription projection, table ledger_subscriptions: each account's Stripe subscription
// as its billing events left it (ids, status, plan, period, cancellation, the watermark of
// the newest Stripe event applied, the periods already granted). The only code that reads or
// writes the table (the committer, replay, verify, the billing reads, the webhook inbox).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/account.h"
#include "ledger/pg.h"

namespace projections::subscriptions {

// Loads the subscription rows of `account_ids`; apply() copies them into `states`, whose
// entries must exist.
pg::Statement load(const std::vector<std::string>& account_ids);
void apply(const pg::Result& rows, ledger::AccountStates& states);

// Inserts or replaces the subscription rows of `accounts` (each has a subscription id).
pg::Statement write(const std::vector<const ledger::AccountState*>& accounts, int64_t now_us);

pg::Statement clear();

// "" when the projected subscription equals the fold's, else the difference in words.
std::string difference(const ledger::AccountState& projected, const ledger::AccountState& folded);

// GET /api/v1/billing/subscription: the account's plan (its balance row's, else the
// subscription's, else `default_plan_id`) and its subscription, if any. One round trip.
struct SubscriptionView {
  std::string plan_id;
  std::optional<ledger::SubscriptionState> subscription;
};
SubscriptionView read_view(pg::Connection& connection, const std::string& account_id,
                           const std::string& default_plan_id);

// The account whose subscription has `subscription_id`, else the most recently updated one
// with `customer_id` (empty ids match nothing); "" when none.
std::string find_account(pg::Connection& connection, const std::string& subscription_id,
                         const std::string& customer_id);

}  // namespace projections::subscriptions
