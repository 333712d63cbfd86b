// One PostgreSQL read connection per worker thread (pqxx connections are not thread-safe),
// opened on first use, never silently reactivated, and replaced after it breaks.
#pragma once

#include <pqxx/pqxx>
#include <string>

namespace http {

inline constexpr int kReadStatementTimeoutMs = 5'000;

// Returns this thread's connection to `database_url`, connecting when there is none
// (pqxx::broken_connection when the database is unreachable). Reads on it run with a
// statement timeout of kReadStatementTimeoutMs.
pqxx::connection& thread_read_connection(const std::string& database_url);

// Drops this thread's connection (after pqxx::broken_connection); the next call reconnects.
void discard_thread_read_connection();

}  // namespace http
