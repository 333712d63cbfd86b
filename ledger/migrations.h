// The schema migrations compiled into the binary from schema/NNN_name.sql.
#pragma once

#include <string>
#include <vector>

namespace ledger {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// In ascending version order.
const std::vector<Migration>& embedded_migrations();

}  // namespace ledger
