// Encodings the ledger sends to PostgreSQL as statement parameters (binary arrays for
// `unnest($n::type[])`, exact timestamps) and reads back (text[] values).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/pg.h"

namespace ledger::sql {

// Array parameters in PostgreSQL's binary array format (one dimension, no NULLs), for
// `$n::text[]`, `$n::bigint[]` and `$n::bool[]`: the server reads each element's bytes as
// they are, with nothing to quote, escape or parse (array_in was a tenth of the database's
// CPU under the committer). The parameter's type must be the array's: an element type other
// than the statement's is refused by the server.
pg::Param text_array(const std::vector<std::string>& values);
// A text[] literal `{"a","b"}`, every element quoted and escaped: for an array inside an
// array parameter (a text[] element cast to text[] by the statement).
std::string text_array_literal(const std::vector<std::string>& values);
pg::Param int64_array(const std::vector<int64_t>& values);
pg::Param bool_array(const std::vector<bool>& values);

// Parses a text[] value as PostgreSQL prints it ({a,"b c",...}); NULL elements are skipped.
std::vector<std::string> parse_text_array(const std::string& literal);

// A timestamptz literal for microseconds since the Unix epoch (exact, no floats).
std::string timestamp_literal(int64_t unix_us);

// The SQL expression that reads a timestamptz column as exact microseconds since the epoch.
std::string epoch_us(const std::string& column);

}  // namespace ledger::sql
