// The write path: `submit(command, deadline, completion)` (or its future), executed by
// writer lanes with group commit. An account always maps to the same lane (a stable hash of its
// id); each lane has its own queue, thread and connection, so batches of different lanes commit
// concurrently and PostgreSQL merges their WAL flushes. A lane batch costs two round trips: one
// that begins the transaction, takes the accounts' advisory locks and loads every row the batch
// needs, and one that writes events, projections, outbox and idempotency rows and commits.
// Several committers (threads or processes) may share a database: correctness comes from the
// database locks and constraints only.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ledger/commands.h"
#include "ledger/plans.h"

namespace ledger {

// The future of a command fails with one of these; in every case NOTHING of the command was
// written, so answering "503, retry" is truthful.
// The database could not take the command (unreachable, refusing it, out of attempts).
class LedgerUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The queue was full or the committer is shutting down.
class LedgerOverloaded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The command's deadline passed before it was decided; it was dropped.
class LedgerDeadlineExceeded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The one exception that does NOT mean "nothing written": the connection broke while the
// batch's COMMIT was in flight and the outcome could not be learned within
// in_doubt_resolve_ms. Retrying the command with the same idempotency key tells.
class LedgerOutcomeUnknown : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommitterOptions {
  std::string database_url;
  std::size_t lanes = 2;  // one per core of the database machine is a good start
  std::size_t queue_capacity = 10'000;  // commands waiting, over all lanes
  std::size_t batch_max = 256;
  // A batch smaller than the lane's last waits up to this long for the queue to make up the
  // difference (the callers of the last batch resubmitting); 0: take what is queued.
  int64_t batch_gather_us = 200;
  int64_t sweep_interval_ms = 1'000;  // <= 0 disables the expiry sweeper
  std::size_t sweep_batch_max = 500;
  int batch_attempts_max = 3;  // attempts of a batch after transient failures
  int64_t statement_timeout_ms = 10'000;
  int64_t io_timeout_ms = 30'000;  // longest wait on the database socket
  // After a COMMIT whose outcome was lost, how long the lane keeps trying to learn it.
  int64_t in_doubt_resolve_ms = 30'000;
  // Fault injection for tests only: called in each batch transaction just before the
  // round trip that commits it, with the attempt number (1-based) and the backend pid.
  std::function<void(int attempt, int backend_pid)> before_commit_for_tests;
};

// Called from the lane threads after each batch; must be thread-safe and not block.
struct CommitterObserver {
  std::function<void(std::size_t commands, int64_t latency_us)> on_batch_committed;
  std::function<void()> on_database_error;
};

struct CommitterStats {
  int64_t batches_committed = 0;
  int64_t commands_decided = 0;
  int64_t round_trips = 0;  // database round trips of every lane, failures included
};

// The lane of an account among `lanes`: stable across processes and restarts (FNV-1a).
std::size_t lane_of(std::string_view account_id, std::size_t lanes);

class Committer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::time_point kNoDeadline = Clock::time_point::max();

  virtual ~Committer() = default;

  // Connects every lane and starts the lane and sweeper threads. Throws LedgerUnavailable
  // when the database cannot be reached.
  static std::unique_ptr<Committer> start(CommitterOptions options, const PlanCatalog& plans,
                                          CommitterObserver observer = {});

  // How a command's end reaches its submitter: called exactly once, with `error` null and
  // the Outcome, or with one of the exceptions above (or, for a bug or an allocation
  // failure, another exception) and an empty Outcome. It runs on the lane thread that
  // decided the command, or on the submitting thread when the command is refused at once.
  // It must be short and must not block: the lane's next batch waits for it. An exception
  // it throws is logged and dropped.
  using Completion = std::function<void(Outcome outcome, std::exception_ptr error)>;

  // Queues a command and never throws; `done` receives its Outcome (rejections included; a command
  // whose strings PostgreSQL could not store is rejected at once as kInvalidCommand, never batched)
  // or one of the exceptions above. A command not decided by `deadline` is dropped unwritten; once
  // decided it is committed or fails as a whole, and every lane wait is bounded, so `done` always
  // comes. Thread-safe.
  virtual void submit(Command command, Clock::time_point deadline, Completion done) = 0;

  // The same, as a future that yields the Outcome or throws the exception; a caller may wait
  // for it without a timeout.
  std::future<Outcome> submit(Command command, Clock::time_point deadline = kNoDeadline);

  // Stops admitting commands, commits everything queued, stops the threads. Idempotent.
  virtual void shutdown() = 0;

  // Commands waiting in the lanes (for metrics).
  virtual std::size_t queue_depth() const = 0;
  virtual CommitterStats stats() const = 0;
};

}  // namespace ledger
