// Validation of the identifiers that reach ledgerd from outside: account ids (JWT `sub`,
// paths, bodies), reservation ids, and Idempotency-Key header values.
#pragma once

#include <cstddef>
#include <string_view>

namespace auth {

inline constexpr std::size_t kAccountIdLengthMax = 128;
inline constexpr std::size_t kReservationIdLengthMax = 128;
inline constexpr std::size_t kIdempotencyKeyLengthMax = 255;

// True for 1..128 characters of [A-Za-z0-9_.:@-].
bool is_valid_account_id(std::string_view id);
// Reservation ids share the account id alphabet (ledgerd issues "res_" + UUID).
bool is_valid_reservation_id(std::string_view id);
// True for 1..255 printable ASCII characters (0x20..0x7e).
bool is_valid_idempotency_key(std::string_view key);

}  // namespace auth
