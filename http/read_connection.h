// One database connection per worker thread (libpq connections are not thread-safe), opened
// on first use and replaced after it breaks. Every read of a request is one round trip on it.
#pragma once

#include <string>

#include "ledger/pg.h"

namespace http {

inline constexpr int kReadStatementTimeoutMs = 5'000;
inline constexpr int kReadIoTimeoutMs = 10'000;

// Returns this thread's connection to `database_url`, connecting when there is none or the
// last one broke (pg::Error of kind kConnection when the database is unreachable).
pg::Connection& thread_connection(const std::string& database_url);

// Drops this thread's connection; the next call reconnects.
void discard_thread_connection();

// Marks the calling thread, for the scope's lifetime, as one that must not block: a Pistache
// reactor thread handling a request inline. thread_connection() asserts that it is not
// marked.
class NonBlockingScope {
 public:
  NonBlockingScope();
  ~NonBlockingScope();
  NonBlockingScope(const NonBlockingScope&) = delete;
  NonBlockingScope& operator=(const NonBlockingScope&) = delete;
};

}  // namespace http
