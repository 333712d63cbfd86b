// The write path: `submit(command) -> future<Outcome>`, executed by a batching committer
// (group commit). Commands from many threads are decided against account state locked in
// PostgreSQL (advisory locks taken in a fixed order) and written in one transaction:
// events, inline projections (accounts, reservations) and idempotency records together.
// Several committers (threads or processes) may share a database; correctness comes from
// the database locks and constraints only.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>

#include "ledger/commands.h"
#include "ledger/plans.h"

namespace ledger {

// The future of a command fails with this when the database could not take the batch
// (connection lost, timeout): nothing of the batch was written.
class LedgerUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The future fails with this when the committer's queue is full or it is shutting down.
class LedgerOverloaded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommitterOptions {
  std::string database_url;
  std::size_t queue_capacity = 10'000;
  std::size_t batch_max = 256;
  int64_t sweep_interval_ms = 1'000;  // <= 0 disables the expiry sweeper
  std::size_t sweep_batch_max = 500;
  int batch_attempts_max = 3;  // a batch is retried on deadlock, serialization or lost link
  int64_t statement_timeout_ms = 10'000;
  // Fault injection for tests only: called inside each batch transaction just before COMMIT
  // with the attempt number (1-based) and the backend pid of the committer's connection.
  std::function<void(int attempt, int backend_pid)> before_commit_for_tests;
};

// Called from the committer thread after each batch; must not block.
struct CommitterObserver {
  std::function<void(std::size_t commands, int64_t latency_us)> on_batch_committed;
  std::function<void()> on_database_error;
};

class Committer {
 public:
  virtual ~Committer() = default;

  // Connects and starts the committer (and sweeper) threads. Throws LedgerUnavailable when
  // the database cannot be reached.
  static std::unique_ptr<Committer> start(CommitterOptions options, const PlanCatalog& plans,
                                          CommitterObserver observer = {});

  // Queues a command. The future yields its Outcome (rejections included), or throws
  // LedgerUnavailable / LedgerOverloaded. Thread-safe.
  virtual std::future<Outcome> submit(Command command) = 0;

  // Stops admitting commands, commits everything queued, stops the threads. Idempotent.
  virtual void shutdown() = 0;

  // Number of commands waiting in the queue (for metrics).
  virtual std::size_t queue_depth() const = 0;
};

}  // namespace ledger
