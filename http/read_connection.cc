// thread_local connection slot (http/read_connection.h).
#include "http/read_connection.h"

#include <cassert>
#include <memory>

namespace http {
namespace {

thread_local std::unique_ptr<pg::LazyConnection> t_connection;
thread_local bool t_must_not_block = false;

}  // namespace

pg::Connection& thread_connection(const std::string& database_url) {
  assert(!t_must_not_block && "a database read on a thread that must not block");
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

NonBlockingScope::NonBlockingScope() {
  assert(!t_must_not_block);
  t_must_not_block = true;
}

NonBlockingScope::~NonBlockingScope() { t_must_not_block = false; }

}  // namespace http
