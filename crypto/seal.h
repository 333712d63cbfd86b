// Authenticated encryption of personal data with AES-256-GCM (OpenSSL): what makes erasure
// possible in append-only tables. Data is stored sealed under a key kept in a deletable
// row; destroying the key erases the data without touching the immutable row (crypto-
// shredding). Byte strings are std::string (may hold NULs).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace crypto {

inline constexpr std::size_t kSealKeySize = 32;    // AES-256
inline constexpr std::size_t kSealNonceSize = 12;  // GCM's 96-bit nonce, random per seal
inline constexpr std::size_t kSealTagSize = 16;
// A sealed text is this many bytes longer than its plaintext.
inline constexpr std::size_t kSealOverhead = kSealNonceSize + kSealTagSize;

// A fresh random key.
std::string new_seal_key();

// nonce || ciphertext || tag of `plaintext` under `key` (kSealKeySize bytes). `context` is
// authenticated but not stored (the row the text belongs to): a sealed text copied to
// another row does not open there. Throws std::runtime_error if OpenSSL fails.
std::string seal(std::string_view key, std::string_view plaintext, std::string_view context);

// The plaintext of seal(key, plaintext, context); nullopt when the key, the context or any
// byte of `sealed` differs.
std::optional<std::string> open_sealed(std::string_view key, std::string_view sealed,
                                       std::string_view context);

}  // namespace crypto
