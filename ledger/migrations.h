// The schema migrations compiled into the binary from schema/NNN_name.sql, and applying them.
#pragma once

#include <string>

#include <pqxx/pqxx>
#include <vector>

namespace ledger {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// In ascending version order.
const std::vector<Migration>& embedded_migrations();

// Applies every migration not yet applied, each in its own transaction, under an advisory
// lock (safe to run twice and concurrently). Returns how many it applied.
int migrate(pqxx::connection& connection);

}  // namespace ledger
