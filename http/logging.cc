// ledgerd's asynchronous log (http/logging.h).
#include "http/logging.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace http {
namespace {

// Never destroyed, and neither are the pool and its thread: a thread may log until the
// process ends, and the log thread may be blocked for good on a stdout nobody reads (which
// joining it at exit would wait for).
struct AsyncLog {
  std::mutex mutex;
  std::shared_ptr<spdlog::details::thread_pool> pool;
  std::shared_ptr<spdlog::logger> logger;
};

AsyncLog& async_log() {
  static AsyncLog* const log = new AsyncLog;
  return *log;
}

}  // namespace

void start_async_logging(std::size_t queue_lines) {
  AsyncLog& log = async_log();
  const std::lock_guard lock(log.mutex);
  if (log.pool) return;
  log.pool = std::make_shared<spdlog::details::thread_pool>(queue_lines, 1);
  log.logger = std::make_shared<spdlog::async_logger>(
      "ledgerd", std::make_shared<spdlog::sinks::stdout_color_sink_mt>(), log.pool,
      spdlog::async_overflow_policy::overrun_oldest);
  spdlog::initialize_logger(log.logger);  // the registry's level, pattern and error handler
  spdlog::set_default_logger(log.logger);
}

int64_t log_lines_dropped() {
  AsyncLog& log = async_log();
  const std::lock_guard lock(log.mutex);
  return log.pool ? static_cast<int64_t>(log.pool->overrun_counter()) : 0;
}

bool flush_async_logging(std::chrono::milliseconds wait_max) {
  AsyncLog& log = async_log();
  std::shared_ptr<spdlog::details::thread_pool> pool;
  {
    const std::lock_guard lock(log.mutex);  // not held while waiting: /metrics reads the count
    if (!log.pool) return true;
    pool = log.pool;
    // One thread takes the queue in order: once it has taken this flush, every line queued
    // before it is written (the sink flushes stdout after each line).
    log.logger->flush();
  }
  const auto deadline = std::chrono::steady_clock::now() + wait_max;
  while (pool->queue_size() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace http
