// Runs the real ledgerctl binary for end-to-end tests of its commands: arguments, a clean
// environment (no LEDGER_* or DATABASE_URL from the caller's), captured output, exit code.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace testing_support {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed; -1 when it could not run
  std::string out;
  std::string err;
};

// Runs build_path("tools/ledgerctl") with `args`, DATABASE_URL set to `database_url` (unset
// when empty) and the variables of `env`; waits up to 60 s (then kills it).
CommandResult run_ledgerctl(const std::vector<std::string>& args, const std::string& database_url,
                            const std::map<std::string, std::string>& env = {});

}  // namespace testing_support
