// The two-phase charge of a paid request (usecases/charge.h).
#include "usecases/charge.h"

#include <cassert>
#include <utility>

#include "crypto/digest.h"
#include "ledger/account.h"
#include "projections/reservations.h"

namespace usecases {

RequestCharge::RequestCharge(std::string account_id, ledger::EventMetadata metadata,
                             std::string key_base, CommandSubmitter submit, ReadConnection reads)
    : account_id_(std::move(account_id)),
      metadata_(std::move(metadata)),
      key_base_(std::move(key_base)),
      submit_(std::move(submit)),
      reads_(std::move(reads)) {
  assert(!key_base_.empty() && submit_ && reads_);
}

std::optional<Refusal> RequestCharge::reserve(int64_t amount, std::string_view feature,
                                              int64_t ttl_s) {
  assert(amount > 0 && reservation_id_.empty());
  std::string key = key_base_ + "/reserve";
  for (int attempt = 0; attempt < kReservationAttemptsMax; ++attempt) {
    ledger::ReserveCredits command;
    command.amount = amount;
    command.feature = std::string(feature);
    command.ttl_s = ttl_s;
    command.reservation_id = "res_" + crypto::uuid_v4();
    Submitted outcome = submit(key, std::move(command));
    if (auto* failure = std::get_if<LedgerFailure>(&outcome)) return Refusal(*failure);
    ledger::Outcome& reserved = std::get<ledger::Outcome>(outcome);
    if (!reserved.ok()) return Refusal(std::move(reserved));
    assert(!reserved.reservation_id.empty());
    if (!reserved.replayed) {
      reservation_id_ = reserved.reservation_id;
      return std::nullopt;
    }
    // A replayed reservation: chain past it only when it charged nothing.
    const auto status =
        projections::reservations::read_status(reads_(), account_id_, reserved.reservation_id);
    if (status != ledger::reservation_status_name(ledger::ReservationStatus::kReleased) &&
        status != ledger::reservation_status_name(ledger::ReservationStatus::kExpired)) {
      break;
    }
    key = key_base_ + "/reserve-after/" + reserved.reservation_id;
  }
  return Refusal(IdempotencyConflict{});
}

std::variant<ledger::Outcome, Refusal> RequestCharge::capture(int64_t amount) {
  assert(!reservation_id_.empty() && amount > 0);
  Submitted outcome = submit(key_base_ + "/capture/" + reservation_id_,
                             ledger::CaptureReservation{reservation_id_, amount});
  if (auto* failure = std::get_if<LedgerFailure>(&outcome)) return Refusal(*failure);
  ledger::Outcome& captured = std::get<ledger::Outcome>(outcome);
  if (!captured.ok()) return Refusal(std::move(captured));
  return std::move(captured);
}

bool RequestCharge::release() {
  assert(!reservation_id_.empty());
  Submitted outcome = submit(key_base_ + "/release/" + reservation_id_,
                             ledger::ReleaseReservation{reservation_id_});
  const auto* released = std::get_if<ledger::Outcome>(&outcome);
  return released != nullptr && released->ok();
}

Submitted RequestCharge::submit(const std::string& key, ledger::CommandBody body) const {
  ledger::EventMetadata metadata = metadata_;
  metadata.idempotency_key = key;
  return submit_(ledger::Command{account_id_, key, std::move(body), std::move(metadata)});
}

}  // namespace usecases
