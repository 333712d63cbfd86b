// ledgerd's log lines go to stdout through a bounded queue and a thread of their own, so that
// no reactor, worker or committer lane waits on stdout (a lane answers its requests, and logs
// their lines, between batches). A full queue drops its oldest lines and counts them
// (ledger_log_lines_dropped_total): a stalled log reader never stalls a commit.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace http {

// Makes the default logger asynchronous, with a queue of `queue_lines` (--log_queue_lines).
// Call once, from the thread whose signal mask the log thread should inherit, before the
// level and pattern are set.
void start_async_logging(std::size_t queue_lines);

// Lines dropped so far because the queue was full (0 before start_async_logging).
int64_t log_lines_dropped();

// Waits until every line queued so far is written, for at most `wait_max` (a stdout nobody
// reads would hold it forever). Call before the process exits (also before std::_Exit).
// False when lines are still waiting: stdout is stalled, and the exit must not flush it
// either (std::_Exit, not exit). True without a start.
bool flush_async_logging(std::chrono::milliseconds wait_max);

}  // namespace http
