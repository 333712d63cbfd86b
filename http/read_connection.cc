// thread_local connection slot (http/read_connection.h).
#include "http/read_connection.h"

#include <cassert>
#include <memory>

namespace http {
namespace {

thread_local std::unique_ptr<pg::Connection> t_connection;

}  // namespace

pg::Connection& thread_connection(const std::string& database_url) {
  if (t_connection && !t_connection->usable()) t_connection.reset();
  if (!t_connection) {
    t_connection = std::make_unique<pg::Connection>(
        pg::ConnectionOptions{database_url, kReadStatementTimeoutMs, kReadIoTimeoutMs});
  }
  assert(t_connection->usable());
  return *t_connection;
}

void discard_thread_connection() { t_connection.reset(); }

}  // namespace http
