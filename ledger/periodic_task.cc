// PeriodicTask (ledger/periodic_task.h).
#include "ledger/periodic_task.h"

#include <spdlog/spdlog.h>

#include <cassert>
#include <chrono>

namespace ledger {

PeriodicTask::PeriodicTask(std::string name, int64_t interval_ms, std::function<void()> run)
    : name_(std::move(name)), interval_ms_(interval_ms), run_(std::move(run)) {
  assert(interval_ms_ > 0);
}

PeriodicTask::~PeriodicTask() { stop(); }

void PeriodicTask::start() {
  assert(!thread_.joinable());
  thread_ = std::thread([this] { loop(); });
}

void PeriodicTask::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicTask::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wakeup_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_.load(); });
    if (stopping_) return;
    lock.unlock();
    try {
      run_();
    } catch (const std::exception& error) {
      spdlog::warn("{}: {}", name_, error.what());
    }
    lock.lock();
  }
}

}  // namespace ledger
