// The balance projection, table ledger_accounts: one row per opened account with its plan,
// balances, lifetime counters, stream version, last hash, credit buckets and the instant the
// credit sweeper is due (credits_due_at). This gateway is the only code
// that reads or writes the table (the committer, replay, verify and the HTTP reads use it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/account.h"
#include "ledger/pg.h"

namespace projections::balances {

// Loads the rows of `account_ids`; apply() copies them into `states`, whose entries must exist
// (accounts without a row stay unopened).
pg::Statement load(const std::vector<std::string>& account_ids);
void apply(const pg::Result& rows, ledger::AccountStates& states);

// Inserts or replaces the rows of `accounts` (opened, invariants holding), stamped `now_us`,
// with the instant each needs the credit sweeper (ledger::credits_due_us).
// The caller holds the accounts' advisory locks (or the replay's table lock).
pg::Statement write(const std::vector<const ledger::AccountState*>& accounts, int64_t now_us);

// The buckets column (JSON) as a state holds them; throws std::runtime_error when malformed.
std::map<std::string, ledger::CreditBucket> decode_buckets(std::string_view text);

// Deletes every row (replay rebuilds them).
pg::Statement clear();

// "" when the projected row equals the fold's balances, else the difference in words.
std::string difference(const ledger::AccountState& projected, const ledger::AccountState& folded);

// The balance of one account as GET /api/v1/credits shows it.
struct BalanceView {
  std::string account_id;
  std::string plan_id;
  int64_t credits_available = 0;
  int64_t credits_reserved = 0;
  int64_t credits_granted = 0;
  int64_t credits_spent = 0;
  int64_t credits_expired = 0;
  int64_t version = 0;
  std::vector<ledger::CreditBucket> buckets;  // live ones, in burn-down order
  bool closed = false;
  // When a free account's monthly allowance is due (ledger::free_allowance_due_us).
  int64_t free_allowance_due_us = 0;
};
// One round trip; nullopt when the account was never opened.
std::optional<BalanceView> read(pg::Connection& connection, const std::string& account_id);

// Accounts whose credits are due (credits_due_at passed), earliest first, at most `limit`:
// the account and its due instant (microseconds), for the credit sweeper.
std::vector<std::pair<std::string, int64_t>> read_credits_due(pg::Connection& connection,
                                                              int64_t limit);

// Accounts with a row but no event (verify): at most `limit` ids.
std::vector<std::string> read_orphans(pg::Connection& connection, int64_t limit);

}  // namespace projections::balances
