// Identifier alphabets and length limits.
#include "auth/identifiers.h"

namespace auth {
namespace {

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '@' || c == '-';
}

bool is_id(std::string_view id, std::size_t length_max) {
  if (id.empty() || id.size() > length_max) return false;
  for (const char c : id) {
    if (!is_id_char(c)) return false;
  }
  return true;
}

}  // namespace

bool is_valid_account_id(std::string_view id) { return is_id(id, kAccountIdLengthMax); }

bool is_valid_reservation_id(std::string_view id) { return is_id(id, kReservationIdLengthMax); }

bool is_valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > kIdempotencyKeyLengthMax) return false;
  for (const char c : key) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace auth
