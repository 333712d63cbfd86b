// PgCluster (tests/support/pg_cluster.h): the pg_ctl/initdb binaries of PostgreSQL 15.
#include "tests/support/pg_cluster.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <pqxx/pqxx>

#include "ledger/migrations.h"
#include "tests/support/ledgerd_process.h"

namespace testing_support {
namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";

// The command as the owner of the data directory: `postgres` when we are root.
std::string as_owner(const std::string& command) {
  return geteuid() == 0 ? "runuser -u postgres -- " + command : command;
}

}  // namespace

PgCluster::PgCluster() {
  char pattern[] = "/tmp/ledger-pg-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("cannot create a cluster directory");
  directory_ = pattern;
  if (geteuid() == 0) run("chown postgres " + directory_);
  port_ = free_loopback_port();
  run(as_owner(std::string(kBin) + "initdb -D " + directory_ +
               "/data -A trust -U postgres -E UTF8 --locale=C > /dev/null"));
  start();
  pqxx::connection admin("postgresql://postgres@127.0.0.1:" + std::to_string(port_) +
                         "/postgres");
  pqxx::nontransaction(admin).exec0("CREATE DATABASE ledger");
  pqxx::connection connection(url());
  ledger::migrate(connection);
}

PgCluster::~PgCluster() {
  std::system((as_owner(std::string(kBin) + "pg_ctl -D " + directory_ +
                        "/data -m immediate -w stop") +
               " > /dev/null 2>&1")
                  .c_str());
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string PgCluster::url() const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/ledger";
}

void PgCluster::crash() {
  run(as_owner(std::string(kBin) + "pg_ctl -D " + directory_ + "/data -m immediate -w stop") +
      " > /dev/null");
}

void PgCluster::start() {
  run(as_owner(std::string(kBin) + "pg_ctl -D " + directory_ + "/data -l " + directory_ +
               "/server.log -w -t 60 -o \"-p " + std::to_string(port_) + " -k " + directory_ +
               " -c listen_addresses=127.0.0.1\" start") +
      " > /dev/null");
}

void PgCluster::run(const std::string& command) const {
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("cluster command failed: " + command);
  }
}

}  // namespace testing_support
