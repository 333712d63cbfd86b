// ledger_idempotency gateway (ledger/idempotency.h).
#include "ledger/idempotency.h"

#include <cassert>

#include "ledger/sql_text.h"

namespace ledger::idempotency {

pg::Statement load(const std::vector<Key>& keys) {
  std::vector<std::string> accounts;
  std::vector<std::string> names;
  for (const auto& [account, key] : keys) {
    accounts.push_back(account);
    names.push_back(key);
  }
  return {"idempotency_load",
          "SELECT i.account_id, i.idempotency_key, i.fingerprint, i.outcome::text"
          " FROM ledger_idempotency i JOIN unnest($1::text[], $2::text[])"
          " AS k(account_id, idempotency_key) USING (account_id, idempotency_key)",
          {sql::text_array(accounts), sql::text_array(names)}};
}

void apply(const pg::Result& rows, Records& records) {
  for (int i = 0; i < rows.rows(); ++i) {
    records[{rows.string(i, 0), rows.string(i, 1)}] =
        Record{rows.string(i, 2), Outcome::from_json(rows.text(i, 3))};
  }
}

pg::Statement write(const std::vector<Key>& keys, const Records& records) {
  assert(!keys.empty());
  std::vector<std::string> accounts, names, fingerprints, outcomes;
  for (const Key& key : keys) {
    const Record& record = records.at(key);
    accounts.push_back(key.first);
    names.push_back(key.second);
    fingerprints.push_back(record.fingerprint);
    outcomes.push_back(record.outcome.to_json());
  }
  return {"idempotency_write",
          "INSERT INTO ledger_idempotency (account_id, idempotency_key, fingerprint, outcome)"
          " SELECT a, k, f, o::json FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
          " AS x(a, k, f, o)",
          {sql::text_array(accounts), sql::text_array(names), sql::text_array(fingerprints),
           sql::text_array(outcomes)}};
}

}  // namespace ledger::idempotency
