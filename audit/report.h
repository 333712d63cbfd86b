// The finance report (`ledgerctl report --from T --to T [--format json|csv]`): credits
// outstanding (available + reserved) at `from`, what moved them in [from, to) (granted by
// source, refunded, spent by feature, expired), outstanding at `to`, and the checks that tie
// it out: for every account opening + granted + refunded - spent - expired = closing, and,
// for a period that ends now or later, closing equals the balance projection. Folds the log
// one account at a time in one repeatable-read snapshot; read-only.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ledger/pg.h"

namespace audit {

struct FinanceReport {
  int64_t from_us = 0;
  int64_t to_us = 0;
  int64_t opening_outstanding = 0;
  std::map<std::string, int64_t> granted;  // by source
  int64_t refunded = 0;
  std::map<std::string, int64_t> spent;  // by feature (captured credits)
  int64_t expired = 0;
  int64_t closing_outstanding = 0;
  int64_t accounts = 0;
  bool compared_with_projection = false;  // the period ends now or later
  bool balanced = true;
  std::string account_id;  // the first account that breaks it ("" when balanced)
  std::string problem;     // what breaks, in words
};

// Requires from_us <= to_us. Database errors propagate.
FinanceReport finance_report(pg::Connection& connection, int64_t from_us, int64_t to_us);

// {"from","to","opening_outstanding","granted":{source:n},"refunded","spent":{feature:n},
//  "expired","closing_outstanding","balanced", "accounts", and "account"/"problem" when not}
std::string report_json(const FinanceReport& report);
// "metric,key,value" lines (key: the source or feature, else empty), with a header.
std::string report_csv(const FinanceReport& report);

}  // namespace audit
