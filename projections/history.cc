// A user's credit history (projections/history.h).
#include "projections/history.h"

#include <cassert>
#include <set>
#include <type_traits>
#include <variant>

#include "ledger/store.h"
#include "projections/balances.h"
#include "projections/reservations.h"

namespace projections::history {
namespace {

constexpr int64_t kPageEvents = 500;

// The signed change of credits_available an event makes (0 for the others).
int64_t delta_of(const ledger::StoredEvent& stored) {
  const std::optional<ledger::EventBody> event =
      ledger::decode_event(stored.event_type, stored.payload);
  if (!event) return 0;
  const std::optional<Entry> entry = entry_of(*event);
  return entry ? entry->amount : 0;
}

}  // namespace

std::optional<Entry> entry_of(const ledger::EventBody& event) {
  return std::visit(
      [](const auto& e) -> std::optional<Entry> {
        using E = std::decay_t<decltype(e)>;
        Entry entry;
        if constexpr (std::is_same_v<E, ledger::CreditsGranted>) {
          entry.type = "grant";
          entry.amount = e.amount;
          entry.source = e.source;
          entry.reason = e.reason;
        } else if constexpr (std::is_same_v<E, ledger::CreditsReserved>) {
          entry.type = "reserve";
          entry.amount = -e.amount;
          entry.feature = e.feature;
          entry.reservation_id = e.reservation_id;
        } else if constexpr (std::is_same_v<E, ledger::ReservationCaptured>) {
          entry.type = "capture";
          entry.amount = e.amount_released;
          entry.spent = e.amount_captured;
          entry.reservation_id = e.reservation_id;
        } else if constexpr (std::is_same_v<E, ledger::ReservationReleased>) {
          entry.type = "release";
          entry.amount = e.amount;
          entry.reservation_id = e.reservation_id;
        } else if constexpr (std::is_same_v<E, ledger::ReservationExpired>) {
          entry.type = "reservation_expired";
          entry.amount = e.amount;
          entry.reservation_id = e.reservation_id;
        } else if constexpr (std::is_same_v<E, ledger::CreditsRefunded>) {
          entry.type = "refund";
          entry.amount = e.amount;
          entry.reason = e.reason;
        } else if constexpr (std::is_same_v<E, ledger::CreditsExpired>) {
          entry.type = "expiry";
          entry.amount = -e.amount;
          entry.reason = e.reason;
        } else if constexpr (std::is_same_v<E, ledger::CreditsRevoked>) {
          entry.type = "pack_refund";
          entry.amount = -e.amount;
          entry.reason = e.reason;
        } else {
          return std::nullopt;
        }
        return entry;
      },
      event);
}

std::optional<Page> read(pg::Connection& connection, const std::string& account_id, int64_t before,
                         int64_t limit) {
  assert(limit > 0 && before >= 0);
  const std::optional<balances::BalanceView> view = balances::read(connection, account_id);
  if (!view) return std::nullopt;
  // The page covers versions < `start`, never past the projection's version.
  const int64_t start = before == 0 || before > view->version ? view->version + 1 : before;
  // The balance after version start - 1: today's, less what every newer event changed.
  int64_t balance = view->credits_available;
  for (int64_t upper = view->version + 1; upper > start;) {
    const auto newer = ledger::read_stream_backward(connection, account_id, upper,
                                                    std::min(kPageEvents, upper - start));
    if (newer.empty()) break;
    for (const ledger::StoredEvent& event : newer) balance -= delta_of(event);
    upper = newer.back().stream_version;
  }
  Page page;
  int64_t scanned = 0;
  int64_t upper = start;
  while (static_cast<int64_t>(page.entries.size()) < limit && upper > 1) {
    if (scanned >= kScanEventsMax) {
      page.next_before = upper;  // long stretch without entries: the client continues
      break;
    }
    const auto events = ledger::read_stream_backward(
        connection, account_id, upper, std::min(kPageEvents, kScanEventsMax - scanned));
    if (events.empty()) break;
    for (const ledger::StoredEvent& stored : events) {
      upper = stored.stream_version;
      ++scanned;
      const std::optional<ledger::EventBody> event =
          ledger::decode_event(stored.event_type, stored.payload);
      std::optional<Entry> entry = event ? entry_of(*event) : std::nullopt;
      if (!entry) continue;
      entry->version = stored.stream_version;
      entry->at_us = stored.recorded_at_us;
      entry->balance_after = balance;
      balance -= entry->amount;
      page.entries.push_back(std::move(*entry));
      if (static_cast<int64_t>(page.entries.size()) == limit) break;
    }
  }
  if (page.next_before == 0 && static_cast<int64_t>(page.entries.size()) == limit && upper > 1) {
    page.next_before = upper;
  }
  // Captures, releases and expiries name their reservation: its feature, from the projection.
  std::vector<std::string> ids;
  for (const Entry& entry : page.entries) {
    if (entry.feature.empty() && !entry.reservation_id.empty()) ids.push_back(entry.reservation_id);
  }
  const auto features = reservations::read_features(connection, account_id, ids);
  for (Entry& entry : page.entries) {
    if (const auto it = features.find(entry.reservation_id);
        entry.feature.empty() && it != features.end()) {
      entry.feature = it->second;
    }
  }
  return page;
}

}  // namespace projections::history
