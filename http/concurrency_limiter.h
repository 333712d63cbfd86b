// Per-key concurrency caps: at most `per_key_max` holders of a permit per key at once (the
// humanize and detect requests of one account). A key is tracked only while it holds
// permits, so the map never outgrows the requests in flight. Process-local, like the rate
// limiter: it protects this process's outbound workers from one account.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace http {

class ConcurrencyLimiter {
 public:
  // A held slot of one key; released when destroyed. Move-only.
  class Permit {
   public:
    Permit(Permit&& other) noexcept;
    Permit& operator=(Permit&&) = delete;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit();

   private:
    friend class ConcurrencyLimiter;
    Permit(ConcurrencyLimiter* limiter, std::string key);

    ConcurrencyLimiter* limiter_;  // null once moved from
    std::string key_;
  };

  // per_key_max == 0 disables the cap (every acquire succeeds, nothing is tracked).
  explicit ConcurrencyLimiter(std::size_t per_key_max);
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  // A permit for `key`, or nullopt when `key` already holds per_key_max. Thread-safe.
  std::optional<Permit> try_acquire(std::string_view key);

  // Permits held over every key.
  std::size_t in_flight() const;

 private:
  void release(const std::string& key);

  const std::size_t per_key_max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> held_;  // key -> permits (> 0)
  std::size_t in_flight_ = 0;                          // sum of held_
};

}  // namespace http
