// Copyleaks access tokens: logging in is slow and limited by the provider (12 logins per
// 15 minutes per account), tokens live 48 hours. This cache keeps one token per account
// (email), logs in only when there is none or it is about to expire, lets one thread log
// in at a time, and refuses logins beyond the provider's limit instead of sending them.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "integrations/detectors_config.h"

namespace integrations {

inline constexpr std::chrono::hours kCopyleaksTokenLifetime{48};
// Tokens are renewed this long before they expire, so none expires mid-request.
inline constexpr std::chrono::minutes kCopyleaksTokenRenewMargin{30};
inline constexpr int kCopyleaksLoginsPerWindowMax = 12;
inline constexpr std::chrono::minutes kCopyleaksLoginWindow{15};
inline constexpr long kCopyleaksLoginTimeoutMsMax = 5'000;

struct CopyleaksToken {
  std::string access_token;  // Non-empty on success.
  std::string error;         // Set on failure (login refused, failed or rate-limited).
  bool timed_out = false;    // The login request timed out.
  bool ok() const { return !access_token.empty(); }
};

class CopyleaksTokenCache {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFunction = std::function<Clock::time_point()>;

  // `now` is injectable so tests can move time; it defaults to the steady clock.
  explicit CopyleaksTokenCache(NowFunction now = &Clock::now);

  // Returns the cached token for the detector's account, or logs in (POST login_url,
  // at most min(timeout_ms, kCopyleaksLoginTimeoutMsMax)) when none is valid. Thread-safe;
  // concurrent callers wait for one login instead of each logging in.
  CopyleaksToken get(const DetectorConfig& detector, long timeout_ms);

  // Forgets `access_token` if it is the cached one (call after the API answered 401).
  void invalidate(const DetectorConfig& detector, const std::string& access_token);

  // Login requests sent so far (all accounts), for tests and metrics.
  int64_t logins_sent() const;

 private:
  struct Account {
    std::string access_token;
    Clock::time_point renew_at;
    std::deque<Clock::time_point> recent_logins;  // Within the last kCopyleaksLoginWindow.
  };

  // Precondition: login_mutex_ held. Returns the token or the refusal.
  CopyleaksToken login(const DetectorConfig& detector, long timeout_ms);

  NowFunction now_;
  std::mutex login_mutex_;                   // Serialises logins; held during the login request.
  mutable std::mutex mutex_;                 // Guards the fields below; never held during I/O.
  std::map<std::string, Account> accounts_;  // By email.
  int64_t logins_sent_ = 0;
};

}  // namespace integrations
