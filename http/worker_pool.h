// The bounded pool that runs request handlers off the Pistache reactor threads: a fixed
// number of threads and a queue with a hard capacity. A full queue refuses at once (the
// caller answers 503) instead of queueing without bound. The capacity counts tasks that
// will wait for a busy thread: a burst that idle threads have not picked up yet is not
// refused.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace http {

class WorkerPool {
 public:
  // Starts `threads` workers (>= 1) with room for `queue_max` (>= 1) waiting tasks.
  WorkerPool(std::size_t threads, std::size_t queue_max);
  // Drains (without a deadline) if drain() was not called.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`. Returns false, without running it, when queue_max tasks would wait with
  // every thread busy, or the pool is draining. Thread-safe. Tasks must not throw (they are
  // the request boundary).
  bool try_submit(std::function<void()> task);

  // Stops admitting, waits until every queued and running task has finished or `timeout`
  // passed, then stops the threads. Returns true when everything finished; on timeout the
  // stuck threads are detached. Call once.
  bool drain(std::chrono::milliseconds timeout);

  std::size_t queue_depth() const;
  std::size_t busy_count() const;

 private:
  void run();

  const std::size_t thread_count_;
  const std::size_t queue_max_;
  mutable std::mutex mutex_;
  std::condition_variable work_available_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  std::size_t busy_ = 0;
  bool admitting_ = true;
  bool stopping_ = false;
  bool drained_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace http
