// Helpers shared by the ledger's database tests: the shipped plan catalog and commands with
// test metadata.
#pragma once

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

inline ledger::Command make_command(const std::string& account, const std::string& key,
                                    ledger::CommandBody body) {
  ledger::Command command{account, key, std::move(body), {}};
  command.metadata.actor = "test";
  command.metadata.source = "ledger_tests";
  return command;
}

}  // namespace ledger_tests
