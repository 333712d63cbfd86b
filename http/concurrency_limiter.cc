// Counted permits per key under one mutex (held for a map lookup only).
#include "http/concurrency_limiter.h"

#include <cassert>
#include <utility>

namespace http {

ConcurrencyLimiter::Permit::Permit(ConcurrencyLimiter* limiter, std::string key)
    : limiter_(limiter), key_(std::move(key)) {}

ConcurrencyLimiter::Permit::Permit(Permit&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)), key_(std::move(other.key_)) {}

ConcurrencyLimiter::Permit::~Permit() {
  if (limiter_ != nullptr) limiter_->release(key_);
}

ConcurrencyLimiter::ConcurrencyLimiter(std::size_t per_key_max) : per_key_max_(per_key_max) {}

std::optional<ConcurrencyLimiter::Permit> ConcurrencyLimiter::try_acquire(std::string_view key) {
  if (per_key_max_ == 0) return Permit(nullptr, std::string());
  std::lock_guard lock(mutex_);
  std::size_t& held = held_[std::string(key)];
  assert(held <= per_key_max_);
  if (held == per_key_max_) return std::nullopt;
  held += 1;
  in_flight_ += 1;
  return Permit(this, std::string(key));
}

void ConcurrencyLimiter::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto it = held_.find(key);
  assert(it != held_.end() && it->second > 0);
  assert(in_flight_ > 0);
  in_flight_ -= 1;
  if (--it->second == 0) held_.erase(it);
}

std::size_t ConcurrencyLimiter::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

}  // namespace http
