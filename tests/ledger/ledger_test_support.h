// Helpers shared by the ledger's database tests: the shipped plan catalog and commands with
// test metadata.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "ledger/commands.h"
#include "ledger/plans.h"

namespace ledger_tests {

// config/plans.json of the source tree (free: 300 credits, pro, business).
inline ledger::PlanCatalog shipped_plans() {
  return std::get<ledger::PlanCatalog>(
      ledger::PlanCatalog::load(std::string(LEDGER_SOURCE_DIR) + "/config/plans.json"));
}

// A Stripe event of subscription sub_1 (customer cus_1), for `plan` ("" none).
inline ledger::StripeBillingEvent stripe_event(std::string id, std::string type,
                                               int64_t created_s, std::string plan = "") {
  ledger::StripeBillingEvent e;
  e.stripe_event_id = std::move(id);
  e.type = std::move(type);
  e.created_s = created_s;
  e.customer_id = "cus_1";
  e.subscription_id = "sub_1";
  e.plan_id = std::move(plan);
  return e;
}

inline ledger::Command make_command(const std::string& account, const std::string& key,
                                    ledger::CommandBody body) {
  ledger::Command command{account, key, std::move(body), {}};
  command.metadata.actor = "test";
  command.metadata.source = "ledger_tests";
  return command;
}

}  // namespace ledger_tests
