// PostgreSQL text encodings (ledger/sql_text.h).
#include "ledger/sql_text.h"

#include <cassert>
#include <cstdint>

#include "ledger/time_format.h"

namespace ledger::sql {

namespace {

// Element type OIDs (pg_type.oid, fixed in PostgreSQL's catalog).
constexpr uint32_t kTextOid = 25;
constexpr uint32_t kInt8Oid = 20;
constexpr uint32_t kBoolOid = 16;

// array_recv's layout: dimensions, a has-NULLs flag, the element type, then per dimension
// its length and lower bound; then each element as a 4-byte length and its bytes. An empty
// array has no dimension.
std::string array_header(std::size_t count, uint32_t element_oid, std::size_t element_bytes) {
  assert(count <= INT32_MAX);
  std::string out;
  out.reserve(20 + element_bytes + 4 * count);
  pg::append_be(out, count == 0 ? 0 : 1, 4);
  pg::append_be(out, 0, 4);
  pg::append_be(out, element_oid, 4);
  if (count > 0) {
    pg::append_be(out, static_cast<uint32_t>(count), 4);
    pg::append_be(out, 1, 4);
  }
  return out;
}

}  // namespace

std::string text_array_literal(const std::vector<std::string>& values) {
  std::size_t size = 2;
  for (const std::string& value : values) size += value.size() + 3;
  std::string out;
  out.reserve(size + size / 8);
  out.push_back('{');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    // One pass per element (find_first_of would call memchr once per character).
    const char* from = values[i].data();
    const char* const end = from + values[i].size();
    for (const char* at = from; at != end; ++at) {
      if (*at != '"' && *at != '\\') continue;
      out.append(from, at);
      out.push_back('\\');
      from = at;
    }
    out.append(from, end);
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

pg::Param text_array(const std::vector<std::string>& values) {
  std::size_t bytes = 0;
  for (const std::string& value : values) bytes += value.size();
  std::string out = array_header(values.size(), kTextOid, bytes);
  for (const std::string& value : values) {
    assert(value.size() <= INT32_MAX);
    pg::append_be(out, static_cast<uint32_t>(value.size()), 4);
    out.append(value);
  }
  return pg::Param::binary(std::move(out));
}

pg::Param int64_array(const std::vector<int64_t>& values) {
  std::string out = array_header(values.size(), kInt8Oid, 8 * values.size());
  for (const int64_t value : values) {
    pg::append_be(out, 8, 4);
    pg::append_be(out, static_cast<uint64_t>(value), 8);
  }
  return pg::Param::binary(std::move(out));
}

pg::Param bool_array(const std::vector<bool>& values) {
  std::string out = array_header(values.size(), kBoolOid, values.size());
  for (const bool value : values) {
    pg::append_be(out, 1, 4);
    out.push_back(value ? 1 : 0);
  }
  return pg::Param::binary(std::move(out));
}

std::vector<std::string> parse_text_array(const std::string& literal) {
  std::vector<std::string> out;
  if (literal.size() < 2 || literal.front() != '{' || literal.back() != '}') return out;
  std::size_t pos = 1;
  const std::size_t end = literal.size() - 1;
  while (pos < end) {
    std::string element;
    bool quoted = false;
    if (literal[pos] == '"') {
      quoted = true;
      ++pos;
      while (pos < end && literal[pos] != '"') {
        if (literal[pos] == '\\' && pos + 1 < end) ++pos;
        element.push_back(literal[pos++]);
      }
      ++pos;  // closing quote
    } else {
      while (pos < end && literal[pos] != ',') element.push_back(literal[pos++]);
    }
    if (quoted || element != "NULL") out.push_back(std::move(element));
    if (pos < end && literal[pos] == ',') ++pos;
  }
  return out;
}

std::string timestamp_literal(int64_t unix_us) {
  return format_rfc3339(unix_us);  // PostgreSQL reads RFC 3339 exactly, microseconds included
}

std::string epoch_us(const std::string& column) {
  return "(extract(epoch from " + column + ") * 1000000)::bigint";
}

}  // namespace ledger::sql
