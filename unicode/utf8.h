// UTF-8 decoding, validation and Unicode whitespace classification: the one place the
// project looks at the bytes of text (request bodies, webhook payloads, ledger commands,
// content). Pure functions, no allocation beyond their results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace unicode {

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

struct DecodedCodePoint {
  char32_t code_point;       // kReplacementCharacter when !valid.
  std::size_t length_bytes;  // >= 1: how far to advance; 1 for an invalid byte.
  bool valid;
};

// Decodes the code point that starts at `text[offset]` (strict UTF-8: no overlong forms,
// no surrogates, nothing above U+10FFFF). Precondition: offset < text.size().
DecodedCodePoint decode_utf8_at(std::string_view text, std::size_t offset);

// Appends the UTF-8 encoding of `code_point` (<= U+10FFFF, not a surrogate) to `out`.
void append_utf8(std::string& out, char32_t code_point);

// True when `text` is well-formed UTF-8 as defined by decode_utf8_at.
bool is_valid_utf8(std::string_view text);

// True when `text` can be stored as PostgreSQL text and echoed in JSON: well-formed UTF-8
// (as above: no lone surrogates, no overlong forms) and no NUL byte.
bool is_storable_text(std::string_view text);

// The longest prefix of `text` of at most `bytes_max` bytes that does not end inside a
// multi-byte sequence (for log lines, error texts and stored excerpts).
std::string_view truncate_utf8(std::string_view text, std::size_t bytes_max);

// `text` with every byte that does not start a valid sequence replaced by U+FFFD and NUL
// bytes dropped: for quoting foreign bytes (a provider's error body) in logs and errors.
std::string scrub_utf8(std::string_view text);

// Unicode White_Space property (ASCII whitespace, NEL, NBSP, U+1680, U+2000..U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000). Zero-width characters are not whitespace.
bool is_unicode_whitespace(char32_t code_point);

// Number of code points; each invalid byte counts as one.
int64_t count_code_points(std::string_view text);

}  // namespace unicode
