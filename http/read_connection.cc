// thread_local connection slot (http/read_connection.h).
#include "http/read_connection.h"

#include <cassert>
#include <memory>

namespace http {
namespace {

thread_local std::unique_ptr<pg::LazyConnection> t_connection;

}  // namespace

pg::Connection& thread_connection(const std::string& database_url) {
  if (!t_connection || t_connection->options().url != database_url) {
    t_connection = std::make_unique<pg::LazyConnection>(
        pg::ConnectionOptions{database_url, kReadStatementTimeoutMs, kReadIoTimeoutMs});
  }
  pg::Connection& connection = t_connection->get();
  assert(connection.usable());
  return connection;
}

void discard_thread_connection() {
  if (t_connection) t_connection->reset();
}

}  // namespace http
