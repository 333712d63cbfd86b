// DatabaseProbe: one connection, one short statement per round, results in atomics.
#include "http/database_probe.h"

#include <spdlog/spdlog.h>

#include <cassert>

#include "projections/reservations.h"

namespace http {
namespace {

// Short bounds: a probe that waits longer than /health's max age is already a failure.
constexpr int64_t kProbeStatementTimeoutMs = 1'000;
constexpr int64_t kProbeIoTimeoutMs = 2'000;
constexpr int64_t kProbeConnectTimeoutS = 2;

}  // namespace

bool database_vouched(std::optional<std::chrono::steady_clock::time_point> success_at,
                      std::chrono::steady_clock::time_point now,
                      std::chrono::milliseconds max_age) {
  assert(max_age.count() > 0);
  return success_at.has_value() && now - *success_at <= max_age;
}

DatabaseProbe::DatabaseProbe(DatabaseProbeOptions options)
    : options_(std::move(options)),
      connection_(pg::ConnectionOptions{options_.database_url, kProbeStatementTimeoutMs,
                                        kProbeIoTimeoutMs, kProbeConnectTimeoutS}),
      task_("database probe", options_.health_interval_ms, [this] { run_round(); }) {
  assert(options_.health_interval_ms > 0);
  assert(options_.health_max_age_ms > options_.health_interval_ms);
  assert(options_.gauges_interval_ms > 0);
}

DatabaseProbe::~DatabaseProbe() { stop(); }

void DatabaseProbe::start() {
  run_round();
  task_.start();
}

void DatabaseProbe::stop() { task_.stop(); }

bool DatabaseProbe::healthy() const {
  const Clock::rep ticks = success_at_ticks_.load();
  std::optional<Clock::time_point> success_at;
  if (ticks != 0) success_at = Clock::time_point(Clock::duration(ticks));
  return database_vouched(success_at, Clock::now(),
                          std::chrono::milliseconds(options_.health_max_age_ms));
}

void DatabaseProbe::run_round() {
  try {
    queries_total_.fetch_add(1);
    connection_.get().ping();
    const Clock::time_point now = Clock::now();
    const bool gauges_due =
        !gauges_read_at_ ||
        now - *gauges_read_at_ >= std::chrono::milliseconds(options_.gauges_interval_ms);
    if (gauges_due) {
      queries_total_.fetch_add(1);
      open_reservations_.store(projections::reservations::count_open(connection_.get()));
      gauges_read_at_ = now;
    }
    success_at_ticks_.store(now.time_since_epoch().count());
    if (failing_) spdlog::info("database probe: the database answers again");
    failing_ = false;
  } catch (const std::exception& error) {  // pg::Error, or a malformed answer
    record_failure(error);
  }
}

void DatabaseProbe::record_failure(const std::exception& error) {
  success_at_ticks_.store(0);
  open_reservations_.store(-1);
  gauges_read_at_.reset();  // read again at the first good round
  if (!failing_) spdlog::warn("database probe failed: {}", error.what());
  failing_ = true;
  if (options_.on_database_error) options_.on_database_error();
}

}  // namespace http
