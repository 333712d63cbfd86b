// Copyleaks token cache with a client-side login rate limit.
#include "integrations/copyleaks_token_cache.h"

#include <algorithm>
#include <cassert>

#include "integrations/detector_adapters.h"
#include "integrations/http_client.h"

namespace integrations {

CopyleaksTokenCache::CopyleaksTokenCache(NowFunction now) : now_(std::move(now)) {}

CopyleaksToken CopyleaksTokenCache::get(const DetectorConfig& detector, long timeout_ms) {
  assert(detector.kind == DetectorKind::kCopyleaks);
  auto cached = [&]() -> std::string {
    std::lock_guard lock(mutex_);
    const auto it = accounts_.find(detector.email);
    if (it == accounts_.end() || it->second.access_token.empty()) return "";
    return now_() < it->second.renew_at ? it->second.access_token : "";
  };
  if (std::string token = cached(); !token.empty()) return {token, "", false};
  std::lock_guard login_lock(login_mutex_);
  // Another thread may have logged in while this one waited.
  if (std::string token = cached(); !token.empty()) return {token, "", false};
  return login(detector, timeout_ms);
}

CopyleaksToken CopyleaksTokenCache::login(const DetectorConfig& detector, long timeout_ms) {
  {
    std::lock_guard lock(mutex_);
    Account& account = accounts_[detector.email];
    const Clock::time_point now = now_();
    while (!account.recent_logins.empty() &&
           now - account.recent_logins.front() >= kCopyleaksLoginWindow) {
      account.recent_logins.pop_front();
    }
    if (static_cast<int>(account.recent_logins.size()) >= kCopyleaksLoginsPerWindowMax) {
      return {"",
              "copyleaks login refused: " + std::to_string(kCopyleaksLoginsPerWindowMax) +
                  " logins in 15 minutes already (provider limit)",
              false};
    }
    account.recent_logins.push_back(now);
    logins_sent_ += 1;
  }
  const long login_timeout_ms = std::clamp(timeout_ms, 1L, kCopyleaksLoginTimeoutMsMax);
  const HttpResponse response = perform(build_copyleaks_login_request(detector, login_timeout_ms));
  CopyleaksLogin parsed = parse_copyleaks_login_response(response);
  if (parsed.access_token.empty()) {
    return {"", std::move(parsed.error), response.failure == HttpResponse::Failure::kTimeout};
  }
  std::lock_guard lock(mutex_);
  Account& account = accounts_[detector.email];
  account.access_token = parsed.access_token;
  account.renew_at = now_() + kCopyleaksTokenLifetime - kCopyleaksTokenRenewMargin;
  return {std::move(parsed.access_token), "", false};
}

void CopyleaksTokenCache::invalidate(const DetectorConfig& detector,
                                     const std::string& access_token) {
  std::lock_guard lock(mutex_);
  const auto it = accounts_.find(detector.email);
  if (it != accounts_.end() && it->second.access_token == access_token)
    it->second.access_token.clear();
}

int64_t CopyleaksTokenCache::logins_sent() const {
  std::lock_guard lock(mutex_);
  return logins_sent_;
}

}  // namespace integrations
