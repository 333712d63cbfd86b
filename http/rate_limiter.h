// Per-account request rate limiting: a token bucket per key (rate per second, burst), in a
// bounded map whose idle buckets are evicted. Process-local by design: a limit protects
// this process; the ledger's correctness never depends on it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace http {

struct RateLimitDecision {
  bool allowed = true;
  int64_t retry_after_s = 0;  // > 0 when refused: whole seconds until a token is available
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // rate_per_s <= 0 disables limiting. Preconditions when enabled: burst >= 1,
  // buckets_max >= 1.
  RateLimiter(double rate_per_s, double burst, std::size_t buckets_max);

  // Takes one token from `key`'s bucket at `now`. Thread-safe.
  RateLimitDecision admit(std::string_view key, Clock::time_point now);

  std::size_t bucket_count() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point refilled_at;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
  };
  static constexpr std::size_t kShards = 16;

  void evict_idle(Shard& shard, Clock::time_point now) const;

  const double rate_per_s_;
  const double burst_;
  const std::size_t shard_buckets_max_;
  std::array<Shard, kShards> shards_;
};

}  // namespace http
