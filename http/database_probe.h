// The database facts that /api/v1/health and /metrics report, read by one background
// thread instead of by every request: a `SELECT 1` every health_interval_ms and the open
// reservation count every gauges_interval_ms, on the probe's own connection. However many
// times /health and /metrics are called, the database sees about one query per second.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "ledger/periodic_task.h"
#include "ledger/pg.h"

namespace http {

struct DatabaseProbeOptions {
  std::string database_url;
  int64_t health_interval_ms = 1'000;  // one SELECT 1 per interval
  // /health answers 503 when the last check failed or the last success is older than this
  // (a database that hangs instead of failing). > health_interval_ms.
  int64_t health_max_age_ms = 3'000;
  int64_t gauges_interval_ms = 5'000;  // one open-reservation count per interval
  std::function<void()> on_database_error;  // called on each failed query; may be empty
};

// Whether a check that last succeeded at `success_at` (nullopt: never, or the last check
// failed) still vouches for the database at `now`. Pure.
bool database_vouched(std::optional<std::chrono::steady_clock::time_point> success_at,
                      std::chrono::steady_clock::time_point now,
                      std::chrono::milliseconds max_age);

class DatabaseProbe {
 public:
  using Clock = std::chrono::steady_clock;

  explicit DatabaseProbe(DatabaseProbeOptions options);
  ~DatabaseProbe();  // stops
  DatabaseProbe(const DatabaseProbe&) = delete;
  DatabaseProbe& operator=(const DatabaseProbe&) = delete;

  // Runs a first round on the calling thread (so /health is right from the first request),
  // then one round per health_interval_ms on the probe thread. Call once.
  void start();
  // Stops the probe thread (waits for a round in progress). Idempotent.
  void stop();

  // The last check succeeded and is at most health_max_age_ms old. Thread-safe, no I/O.
  bool healthy() const;
  // Open reservations at the last gauge read, -1 when unknown (not read yet, or the
  // database failed since). Thread-safe, no I/O.
  int64_t open_reservations() const { return open_reservations_.load(); }
  // Statements the probe has sent (each one round trip).
  uint64_t queries_total() const { return queries_total_.load(); }

 private:
  void run_round();
  void record_failure(const std::exception& error);

  const DatabaseProbeOptions options_;
  // Probe thread only (or the caller of start() before the thread runs).
  pg::LazyConnection connection_;
  std::optional<Clock::time_point> gauges_read_at_;
  bool failing_ = false;
  // Shared with request threads.
  std::atomic<Clock::rep> success_at_ticks_{0};  // 0: no success since the last failure
  std::atomic<int64_t> open_reservations_{-1};
  std::atomic<uint64_t> queries_total_{0};
  ledger::PeriodicTask task_;
};

}  // namespace http
