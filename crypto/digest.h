// Digests, MACs, encodings and randomness over OpenSSL: the one place the project
// computes SHA-256/HMAC or encodes bytes. Byte strings are std::string (may hold NULs).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace crypto {

inline constexpr std::size_t kSha256Size = 32;

// Returns the 32-byte SHA-256 digest of `data`.
std::string sha256(std::string_view data);

// Returns the 32-byte HMAC-SHA256 of `data` keyed by the bytes of `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

// Compares two byte strings in time independent of where they differ.
// Strings of different length compare unequal (the length is not secret).
bool constant_time_equal(std::string_view a, std::string_view b);

// Lower-case hexadecimal of the bytes.
std::string hex_encode(std::string_view bytes);
// Decodes hexadecimal (either case); nullopt on odd length or a non-hex digit.
std::optional<std::string> hex_decode(std::string_view hex);

// Standard base64 with padding (RFC 4648 section 4).
std::string base64_encode(std::string_view bytes);
// Decodes standard base64 with padding; nullopt when malformed or not canonical (missing or
// extra padding, whitespace, non-zero bits after the data in the last digit).
std::optional<std::string> base64_decode(std::string_view text);
// URL-safe base64 without padding (RFC 4648 section 5), as JWT uses.
std::string base64url_encode(std::string_view bytes);
// Decodes URL-safe base64 without padding; nullopt when malformed or not canonical (any
// '=', whitespace, non-zero bits after the data in the last digit): one spelling per value.
std::optional<std::string> base64url_decode(std::string_view text);

// `count` bytes from OpenSSL's CSPRNG. Throws std::runtime_error if it fails.
std::string random_bytes(std::size_t count);
// A random (version 4) UUID in canonical lower-case form.
std::string uuid_v4();
// The canonical lower-case form (8-4-4-4-12 hex digits) of a UUID's 16 bytes (a uuid column
// read in PostgreSQL's binary format). Throws std::invalid_argument on another length.
std::string uuid_text(std::string_view bytes);
// The same into `text`, reusing its storage (a scan formats one per event).
void uuid_text(std::string_view bytes, std::string& text);

}  // namespace crypto
