// The leased claim statement (ledger/lease_claim.h).
#include "ledger/lease_claim.h"

#include <cassert>

namespace ledger {

std::string lease_claim_sql(const LeaseClaim& claim) {
  assert(!claim.table.empty() && !claim.key_columns.empty() && !claim.due.empty());
  assert(!claim.order_by.empty() && !claim.limit.empty() && !claim.lease_ms.empty() &&
         !claim.returning.empty());
  std::string keys_match;
  std::string_view keys = claim.key_columns;
  while (!keys.empty()) {
    const std::size_t comma = keys.find(',');
    std::string_view key = keys.substr(0, comma);
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    assert(!key.empty());
    if (!keys_match.empty()) keys_match += " AND ";
    keys_match += "t." + std::string(key) + " = due." + std::string(key);
    keys = comma == std::string_view::npos ? std::string_view() : keys.substr(comma + 1);
  }
  std::string sql = "UPDATE " + std::string(claim.table) +
                    " t SET next_attempt_at = clock_timestamp() + " + std::string(claim.lease_ms) +
                    " * interval '1 millisecond'";
  if (!claim.also_set.empty()) sql += ", " + std::string(claim.also_set);
  sql += " FROM (SELECT " + std::string(claim.key_columns) + " FROM " + std::string(claim.table) +
         " WHERE " + std::string(claim.due) + " ORDER BY " + std::string(claim.order_by) +
         " LIMIT " + std::string(claim.limit) + " FOR UPDATE SKIP LOCKED) due WHERE " + keys_match +
         " RETURNING " + std::string(claim.returning);
  return sql;
}

}  // namespace ledger
