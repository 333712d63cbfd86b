// Token buckets, sharded by key hash to keep lock hold times short.
#include "http/rate_limiter.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>

namespace http {

RateLimiter::RateLimiter(double rate_per_s, double burst, std::size_t buckets_max)
    : rate_per_s_(rate_per_s),
      burst_(std::max(burst, 1.0)),
      shard_buckets_max_(std::max<std::size_t>(buckets_max / kShards, 1)) {
  assert(rate_per_s <= 0 || burst >= 1);
}

void RateLimiter::evict_idle(Shard& shard, Clock::time_point now) const {
  // A bucket idle long enough to be full again is the same as no bucket.
  const auto refill_time = std::chrono::duration<double>(burst_ / rate_per_s_);
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    if (now - it->second.refilled_at >= refill_time) {
      it = shard.buckets.erase(it);
    } else {
      ++it;
    }
  }
  // Still full of active keys: forget one arbitrary bucket (it restarts full) rather than
  // grow without bound.
  if (shard.buckets.size() >= shard_buckets_max_) shard.buckets.erase(shard.buckets.begin());
}

RateLimiter::Shard& RateLimiter::shard_of(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

const RateLimiter::Shard& RateLimiter::shard_of(std::string_view key) const {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

double RateLimiter::tokens_at(const Bucket& bucket, Clock::time_point now) const {
  const double elapsed_s = std::chrono::duration<double>(now - bucket.refilled_at).count();
  if (elapsed_s <= 0) return bucket.tokens;
  return std::min(burst_, bucket.tokens + elapsed_s * rate_per_s_);
}

RateLimitDecision RateLimiter::decide(double tokens) const {
  assert(tokens <= burst_);
  if (tokens >= 1.0) return {};
  const double wait_s = (1.0 - tokens) / rate_per_s_;
  return {false, std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_s)))};
}

RateLimitDecision RateLimiter::admit(std::string_view key, Clock::time_point now) {
  if (rate_per_s_ <= 0) return {};
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= shard_buckets_max_) evict_idle(shard, now);
    it = shard.buckets.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = tokens_at(bucket, now);
  bucket.refilled_at = std::max(bucket.refilled_at, now);
  const RateLimitDecision decision = decide(bucket.tokens);
  if (decision.allowed) bucket.tokens -= 1.0;
  return decision;
}

RateLimitDecision RateLimiter::check(std::string_view key, Clock::time_point now) const {
  if (rate_per_s_ <= 0) return {};
  const Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) return {};
  return decide(tokens_at(it->second, now));
}

std::size_t RateLimiter::bucket_count() const {
  std::size_t count = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    count += shard.buckets.size();
  }
  return count;
}

}  // namespace http
