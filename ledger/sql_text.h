// Text encodings the ledger sends to PostgreSQL as statement parameters (array literals for
// `unnest($n::type[])`, exact timestamps) and reads back (text[] values).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ledger::sql {

// A PostgreSQL array literal `{"a","b"}` with every element quoted and escaped, for a
// `$1::text[]` parameter.
std::string text_array(const std::vector<std::string>& values);

// Array literals of integers and booleans, for `$1::bigint[]` / `$1::bool[]` parameters.
std::string int64_array(const std::vector<int64_t>& values);
std::string bool_array(const std::vector<bool>& values);

// Parses a text[] value as PostgreSQL prints it ({a,"b c",...}); NULL elements are skipped.
std::vector<std::string> parse_text_array(const std::string& literal);

// A timestamptz literal for microseconds since the Unix epoch (exact, no floats).
std::string timestamp_literal(int64_t unix_us);

// The SQL expression that reads a timestamptz column as exact microseconds since the epoch.
std::string epoch_us(const std::string& column);

}  // namespace ledger::sql
