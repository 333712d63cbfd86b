// Idempotency records, table ledger_idempotency: the first outcome of each (account, key) with
// the fingerprint of the command that produced it. Written in the same transaction as the
// command's events, so a record exists exactly when the command's effects do.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ledger/commands.h"
#include "ledger/pg.h"

namespace ledger::idempotency {

// (account id, idempotency key).
using Key = std::pair<std::string, std::string>;

struct Record {
  std::string fingerprint;
  Outcome outcome;
};
using Records = std::map<Key, Record>;

// Loads the records of `keys` that exist; apply() adds them to `records`.
pg::Statement load(const std::vector<Key>& keys);
void apply(const pg::Result& rows, Records& records);

// Inserts the records of `keys` as `records` hold them.
pg::Statement write(const std::vector<Key>& keys, const Records& records);

}  // namespace ledger::idempotency
