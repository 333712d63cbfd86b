// The reservation projection, table ledger_reservations: every reservation of every account
// with its amount, feature, expiry and settlement. The only code that reads or writes the
// table (the committer, replay, verify, the sweeper and the HTTP reads use it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/account.h"
#include "ledger/pg.h"

namespace projections::reservations {

// (account id, reservation id).
using Key = std::pair<std::string, std::string>;

// Loads the named reservations (those that exist); apply() adds them to the states, whose
// entries must exist.
pg::Statement load(const std::vector<Key>& keys);
// Loads every reservation of one account (verify).
pg::Statement load_accounts(const std::vector<std::string>& account_ids);
void apply(const pg::Result& rows, ledger::AccountStates& states);
// Whether the rows of load_accounts() for `folded`'s accounts are exactly their folded
// reservations, field for field (the draws as the JSON the writers write), read without
// building states: verify's check of a projection that is right. On false, apply() and
// difference() name what differs.
bool rows_match(const pg::Result& rows, const std::vector<const ledger::AccountState*>& folded);

// Inserts or updates the rows of the reservations named by `keys`, as `states` hold them.
pg::Statement write(const std::vector<Key>& keys, const ledger::AccountStates& states);
// Every reservation of `accounts` as the rows of one binary COPY (replay, into the table
// clear() emptied: a row that exists is an error).
pg::CopyIn copy_rows(const std::vector<const ledger::AccountState*>& accounts);

pg::Statement clear();

// "" when the projected reservations equal the fold's, else the first difference in words.
std::string difference(const ledger::AccountState& projected, const ledger::AccountState& folded);

// Named reads.
// The status name ("open", "captured", ...) of one reservation, or nullopt if unknown.
std::optional<std::string> read_status(pg::Connection& connection, const std::string& account_id,
                                       const std::string& reservation_id);
// The feature of each of the account's reservations named in `reservation_ids` that exists.
std::map<std::string, std::string> read_features(pg::Connection& connection,
                                                 const std::string& account_id,
                                                 const std::vector<std::string>& reservation_ids);
// Open reservations whose expiry has passed (the sweeper), oldest first, at most `limit`.
std::vector<Key> read_overdue(pg::Connection& connection, int64_t limit);
// The number of open reservations (a /metrics gauge).
int64_t count_open(pg::Connection& connection);

}  // namespace projections::reservations
