// Request rate limiting: a token bucket per key (rate per second, burst), in a bounded map
// whose idle buckets are evicted. Keys are accounts (the per-account rate limit) or client
// addresses (failed authentications). Process-local by design: a limit protects this
// process; the ledger's correctness never depends on it.
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

  // What admit() would decide at `now`, without taking a token or tracking `key` (a key
  // without a bucket has a full one). Thread-safe.
  RateLimitDecision check(std::string_view key, Clock::time_point now) const;

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

  Shard& shard_of(std::string_view key);
  const Shard& shard_of(std::string_view key) const;
  void evict_idle(Shard& shard, Clock::time_point now) const;
  // The bucket's tokens at `now` (refilled since `refilled_at`, at most burst).
  double tokens_at(const Bucket& bucket, Clock::time_point now) const;
  // Allowed when `tokens` >= 1; else the whole seconds until there is one.
  RateLimitDecision decide(double tokens) const;

  const double rate_per_s_;
  const double burst_;
  const std::size_t shard_buckets_max_;
  std::array<Shard, kShards> shards_;
};

}  // namespace http
