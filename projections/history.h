// A user's own credit history (GET /api/v1/credits/history): the entries of the account's
// stream that move credits_available, newest first, each with the balance after it. Read
// from the balance projection (the balance now and its version) and the stream read
// backwards from that version, so a page is consistent however the account moves meanwhile.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/events.h"
#include "ledger/pg.h"

namespace projections::history {

// One entry: `amount` is the signed change of credits_available.
struct Entry {
  int64_t version = 0;
  int64_t at_us = 0;
  std::string type;  // grant | reserve | capture | release | reservation_expired | refund | expiry
  int64_t amount = 0;
  int64_t spent = 0;           // capture: the credits it spent (the rest came back: amount)
  std::string feature;         // reserve, capture, release, reservation_expired
  std::string source;          // grant: plan_allowance | admin | stripe | ...
  std::string reservation_id;  // reserve, capture, release, reservation_expired
  std::string reason;          // grant, refund, expiry
  int64_t balance_after = 0;
};

// The entry an event makes, without feature and balance; nullopt for events that do not
// move credits_available (plan, subscription, records).
std::optional<Entry> entry_of(const ledger::EventBody& event);

struct Page {
  std::vector<Entry> entries;
  // The `before` of the next (older) page; 0 when this page reached the stream's start.
  int64_t next_before = 0;
};

inline constexpr int64_t kScanEventsMax = 5'000;  // events one page looks at, at most

// Up to `limit` entries of events with version < `before` (0: from the newest), newest
// first. A page stops early (with next_before set) after kScanEventsMax events of the
// page's range; computing the balance before `before` reads the newer events too.
// nullopt when the account was never opened.
std::optional<Page> read(pg::Connection& connection, const std::string& account_id, int64_t before,
                         int64_t limit);

}  // namespace projections::history
