// thread_local connection slot.
#include "http/read_connection.h"

#include <cassert>
#include <memory>

namespace http {
namespace {

thread_local std::unique_ptr<pqxx::connection> t_connection;

}  // namespace

pqxx::connection& thread_read_connection(const std::string& database_url) {
  if (t_connection && !t_connection->is_open()) t_connection.reset();
  if (!t_connection) {
    auto connection = std::make_unique<pqxx::connection>(database_url);
    // libpqxx 6 would otherwise reconnect behind our back and lose session settings.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    connection->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    pqxx::nontransaction setup(*connection);
    setup.exec0("SET statement_timeout = " + std::to_string(kReadStatementTimeoutMs));
    setup.commit();
    t_connection = std::move(connection);
  }
  assert(t_connection->is_open());
  return *t_connection;
}

void discard_thread_read_connection() { t_connection.reset(); }

}  // namespace http
