// A background thread that runs one function every interval until stopped: the one loop
// behind the outbox deliverer, the webhook retrier and ledgerd's retention prune. stop() wakes it at once and waits
// for the run in progress; exceptions from a run are logged and the loop goes on.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace ledger {

class PeriodicTask {
 public:
  // `run` is called on the task's thread every `interval_ms` (> 0) after start().
  PeriodicTask(std::string name, int64_t interval_ms, std::function<void()> run);
  ~PeriodicTask();  // stops
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void start();  // once
  void stop();   // idempotent
  // True once stop() was called: long runs check it to return early.
  bool stop_requested() const { return stopping_.load(); }

 private:
  void loop();

  const std::string name_;
  const int64_t interval_ms_;
  const std::function<void()> run_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace ledger
