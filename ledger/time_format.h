// RFC 3339 timestamps <-> microseconds since the Unix epoch (UTC), without floating point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

// Now, in microseconds since the Unix epoch (the system clock): the one place it is read.
int64_t unix_now_us();

// "2026-11-22T02:11:39.123456Z" (microseconds always printed).
std::string format_rfc3339(int64_t unix_us);

// Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" ('t'/' ' accepted for 'T',
// 'z' for 'Z'); fractions beyond microseconds are truncated. nullopt when malformed or
// out of range (years 1970..9999).
std::optional<int64_t> parse_rfc3339(std::string_view text);

// The same UTC time of day `months` (>= 0) calendar months later; a day past the end of the
// target month becomes its last day (Jan 31 + 1 month = Feb 28 or 29), as PostgreSQL's
// `+ interval '1 month'` does. `unix_us` >= 0.
int64_t add_months_us(int64_t unix_us, int64_t months);

}  // namespace ledger
