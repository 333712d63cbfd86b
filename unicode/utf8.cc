// Strict UTF-8 decoding (RFC 3629, table 3-7 of the Unicode standard).
#include "unicode/utf8.h"

#include <cassert>

namespace unicode {
namespace {

constexpr DecodedCodePoint kInvalidByte{kReplacementCharacter, 1, false};

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// The allowed range of the second byte for a lead byte (the first continuation byte
// carries the overlong/surrogate/range restrictions).
struct SecondByteRange {
  unsigned char low;
  unsigned char high;
};

SecondByteRange second_byte_range(unsigned char lead) {
  if (lead == 0xE0) return {0xA0, 0xBF};
  if (lead == 0xED) return {0x80, 0x9F};
  if (lead == 0xF0) return {0x90, 0xBF};
  if (lead == 0xF4) return {0x80, 0x8F};
  return {0x80, 0xBF};
}

}  // namespace

DecodedCodePoint decode_utf8_at(std::string_view text, std::size_t offset) {
  assert(offset < text.size());
  const auto lead = static_cast<unsigned char>(text[offset]);
  if (lead < 0x80) return {lead, 1, true};

  std::size_t length = 0;
  char32_t code_point = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return kInvalidByte;
  }
  if (offset + length > text.size()) return kInvalidByte;

  const SecondByteRange range = second_byte_range(lead);
  const auto second = static_cast<unsigned char>(text[offset + 1]);
  if (second < range.low || second > range.high) return kInvalidByte;
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[offset + i]);
    if (!is_continuation(byte)) return kInvalidByte;
    code_point = (code_point << 6) | (byte & 0x3F);
  }
  assert(code_point <= 0x10FFFF);
  return {code_point, length, true};
}

void append_utf8(std::string& out, char32_t code_point) {
  assert(code_point <= 0x10FFFF);
  assert(code_point < 0xD800 || code_point > 0xDFFF);
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

bool is_valid_utf8(std::string_view text) {
  std::size_t offset = 0;
  while (offset < text.size()) {
    const DecodedCodePoint decoded = decode_utf8_at(text, offset);
    if (!decoded.valid) return false;
    offset += decoded.length_bytes;
  }
  return true;
}

bool is_storable_text(std::string_view text) {
  return text.find('\0') == std::string_view::npos && is_valid_utf8(text);
}

std::string_view truncate_utf8(std::string_view text, std::size_t bytes_max) {
  if (text.size() <= bytes_max) return text;
  std::size_t end = bytes_max;
  while (end > 0 && is_continuation(static_cast<unsigned char>(text[end]))) --end;
  return text.substr(0, end);
}

std::string scrub_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t offset = 0;
  while (offset < text.size()) {
    const DecodedCodePoint decoded = decode_utf8_at(text, offset);
    if (!decoded.valid) {
      append_utf8(out, kReplacementCharacter);
    } else if (decoded.code_point != 0) {
      out.append(text.substr(offset, decoded.length_bytes));
    }
    offset += decoded.length_bytes;
  }
  return out;
}

bool is_unicode_whitespace(char32_t code_point) {
  if (code_point >= 0x09 && code_point <= 0x0D) return true;
  if (code_point >= 0x2000 && code_point <= 0x200A) return true;
  switch (code_point) {
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return false;
  }
}

int64_t count_code_points(std::string_view text) {
  int64_t count = 0;
  std::size_t offset = 0;
  while (offset < text.size()) {
    offset += decode_utf8_at(text, offset).length_bytes;
    ++count;
  }
  return count;
}

}  // namespace unicode
