// Exponential backoff, the one way the ledger spaces retries: the committer's failed
// batches and busy locks, the outbox's deliveries and the webhook inbox's attempts.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>

namespace ledger {

// `base` doubled `doublings` times, at most `max` (in the caller's unit). Never overflows:
// doublings beyond what fits give `max`.
constexpr int64_t exponential_backoff(int64_t base, int doublings, int64_t max) {
  assert(base > 0 && max >= base && doublings >= 0);
  constexpr int kDoublingsMax = 62;
  if (doublings >= kDoublingsMax || base > (max >> std::min(doublings, kDoublingsMax))) return max;
  return std::min(base << doublings, max);
}

}  // namespace ledger
