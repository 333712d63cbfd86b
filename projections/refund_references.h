// The refund reference projection, table ledger_refund_references: the references each account
// has refunded under, with the amount (a reference refunds once per account). The only code
// that reads or writes the table (the committer, replay, verify).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ledger/account.h"
#include "ledger/pg.h"

namespace projections::refund_references {

// (account id, reference).
using Key = std::pair<std::string, std::string>;

// Loads the named references that exist; apply() adds them to the states (entries must exist).
pg::Statement load(const std::vector<Key>& keys);
// Loads every reference of the accounts (verify).
pg::Statement load_accounts(const std::vector<std::string>& account_ids);
void apply(const pg::Result& rows, ledger::AccountStates& states);

// Inserts the rows of the references named by `keys`, with the amounts `states` hold.
pg::Statement write(const std::vector<Key>& keys, const ledger::AccountStates& states);

pg::Statement clear();

// The account that used `reference` (a pack's payment: ledger::pack_reference_key), or "".
std::string find_account(pg::Connection& connection, const std::string& reference);

// "" when the projected references equal the fold's, else the difference in words.
std::string difference(const ledger::AccountState& projected, const ledger::AccountState& folded);

}  // namespace projections::refund_references
