// ledger_refund_references gateway (projections/refund_references.h).
#include "projections/refund_references.h"

#include <cassert>

#include "ledger/sql_text.h"

namespace projections::refund_references {

pg::Statement load(const std::vector<Key>& keys) {
  std::vector<std::string> accounts;
  std::vector<std::string> references;
  for (const auto& [account, reference] : keys) {
    accounts.push_back(account);
    references.push_back(reference);
  }
  return {"refund_references_load",
          "SELECT r.account_id, r.reference, r.amount FROM ledger_refund_references r"
          " JOIN unnest($1::text[], $2::text[]) AS k(account_id, reference)"
          " USING (account_id, reference)",
          {ledger::sql::text_array(accounts), ledger::sql::text_array(references)}};
}

pg::Statement load_accounts(const std::vector<std::string>& account_ids) {
  return {"refund_references_load_accounts",
          "SELECT account_id, reference, amount FROM ledger_refund_references"
          " WHERE account_id = ANY($1::text[])",
          {ledger::sql::text_array(account_ids)}};
}

void apply(const pg::Result& rows, ledger::AccountStates& states) {
  for (int i = 0; i < rows.rows(); ++i) {
    states.at(rows.string(i, 0)).refund_references[rows.string(i, 1)] = rows.int64(i, 2);
  }
}

pg::Statement write(const std::vector<Key>& keys, const ledger::AccountStates& states) {
  assert(!keys.empty());
  std::vector<std::string> accounts;
  std::vector<std::string> references;
  std::vector<int64_t> amounts;
  for (const auto& [account, reference] : keys) {
    accounts.push_back(account);
    references.push_back(reference);
    amounts.push_back(states.at(account).refund_references.at(reference));
  }
  using namespace ledger::sql;
  return {"refund_references_write",
          "INSERT INTO ledger_refund_references (account_id, reference, amount)"
          " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])",
          {text_array(accounts), text_array(references), int64_array(amounts)}};
}

pg::Statement clear() {
  return {"refund_references_clear", "TRUNCATE ledger_refund_references", {}};
}

std::string find_account(pg::Connection& connection, const std::string& reference) {
  const pg::Result rows =
      connection.exec({"refund_references_account",
                       "SELECT account_id FROM ledger_refund_references WHERE reference = $1"
                       " ORDER BY account_id LIMIT 1",
                       {reference}});
  return rows.rows() == 0 ? std::string() : rows.string(0, 0);
}

std::string difference(const ledger::AccountState& projected, const ledger::AccountState& folded) {
  return projected.refund_references == folded.refund_references
             ? ""
             : "refund references differ from the fold";
}

}  // namespace projections::refund_references
