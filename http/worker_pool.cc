// Fixed threads over a bounded deque.
#include "http/worker_pool.h"

#include <cassert>

namespace http {

WorkerPool::WorkerPool(std::size_t threads, std::size_t queue_max)
    : thread_count_(threads), queue_max_(queue_max) {
  assert(threads >= 1);
  assert(queue_max >= 1);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
  if (!drained_) drain(std::chrono::milliseconds::max());
}

bool WorkerPool::try_submit(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    assert(busy_ <= thread_count_);
    // Queued tasks beyond the idle threads are the ones that will wait.
    const std::size_t idle = thread_count_ - busy_;
    if (!admitting_ || queue_.size() >= queue_max_ + idle) return false;
    queue_.push_back(std::move(task));
  }
  work_available_.notify_one();
  return true;
}

void WorkerPool::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_available_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      assert(stopping_);
      return;
    }
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    task();
    lock.lock();
    --busy_;
    if (queue_.empty() && busy_ == 0) idle_.notify_all();
  }
}

bool WorkerPool::drain(std::chrono::milliseconds timeout) {
  assert(!drained_);
  drained_ = true;
  bool finished = false;
  {
    std::unique_lock lock(mutex_);
    admitting_ = false;
    const auto is_idle = [this] { return queue_.empty() && busy_ == 0; };
    if (timeout == std::chrono::milliseconds::max()) {
      idle_.wait(lock, is_idle);
      finished = true;
    } else {
      finished = idle_.wait_for(lock, timeout, is_idle);
    }
    stopping_ = true;
  }
  work_available_.notify_all();
  for (std::thread& thread : threads_) {
    if (finished) {
      thread.join();
    } else {
      thread.detach();
    }
  }
  threads_.clear();
  return finished;
}

std::size_t WorkerPool::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t WorkerPool::busy_count() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

}  // namespace http
