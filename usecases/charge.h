// The ledger side of one paid request (humanize, detect): one reservation, settled exactly
// once (capture or release), every command keyed from one base so that a retried request
// never charges twice. Callable without HTTP: the transport maps the refusals to replies.
//
//   reserve(price) -> [the work] -> capture(what was delivered) | release()
//
// A repeated key whose earlier reservation was released or expired (the earlier request was
// not charged) chains to a new reservation keyed after the old one; a repeated key whose
// reservation is open or captured is an IdempotencyConflict: that request is running or was
// charged, and its result is not stored to be replayed. A request that dies between reserve
// and settle leaves an open reservation that the ledger's sweeper releases at its expiry:
// never a charge.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ledger/commands.h"
#include "ledger/pg.h"
#include "ledger/plans.h"
#include "usecases/account.h"

namespace usecases {

// A repeated key chains through at most this many released reservations (a client retrying
// one Idempotency-Key after failure upon failure), then it is an IdempotencyConflict.
inline constexpr int kReservationAttemptsMax = 16;

class RequestCharge {
 public:
  // `key_base`: the client's key scoped to the route, or a fresh UUID (a new charge).
  // `reads` gives the connection that answers the reservation status of a replayed reserve,
  // asked again for each read (a request outlives its model calls).
  RequestCharge(std::string account_id, ledger::EventMetadata metadata, std::string key_base,
                CommandSubmitter submit, ReadConnection reads);

  // Reserves `amount` (> 0) for `feature` for `ttl_s` seconds. nullopt: reserved.
  std::optional<Refusal> reserve(int64_t amount, std::string_view feature, int64_t ttl_s);
  // Captures `amount` (1..reserved); the ledger releases the remainder in the same event.
  // Precondition: reserved. The outcome carries credits_available after the capture.
  std::variant<ledger::Outcome, Refusal> capture(int64_t amount);
  // Releases the whole reservation; false when the ledger did not confirm it (the sweeper
  // releases it at its expiry, so the account is never charged for it either way).
  bool release();

  const std::string& reservation_id() const { return reservation_id_; }

 private:
  Submitted submit(const std::string& key, ledger::CommandBody body) const;

  const std::string account_id_;
  const ledger::EventMetadata metadata_;
  const std::string key_base_;
  const CommandSubmitter submit_;
  const ReadConnection reads_;
  std::string reservation_id_;
};

}  // namespace usecases
