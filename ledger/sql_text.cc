// PostgreSQL text encodings (ledger/sql_text.h).
#include "ledger/sql_text.h"

#include "ledger/time_format.h"

namespace ledger::sql {

std::string text_array(const std::vector<std::string>& values) {
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

std::string int64_array(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += std::to_string(values[i]);
  }
  out.push_back('}');
  return out;
}

std::string bool_array(const std::vector<bool>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back(values[i] ? 't' : 'f');
  }
  out.push_back('}');
  return out;
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
