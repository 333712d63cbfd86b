// OpenSSL-backed implementations of crypto/digest.h.
#include "crypto/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace crypto {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";  // lower case, as PostgreSQL prints

// SHA-256 fetched once: OpenSSL 3's one-shot SHA256() and EVP_sha256() look the algorithm
// up on every call, which costs more than hashing a short event.
const EVP_MD* sha256_algorithm() {
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  if (algorithm == nullptr) throw std::runtime_error("OpenSSL has no SHA-256");
  return algorithm;
}

}  // namespace

std::string sha256(std::string_view data) {
  // One context per thread, initialised again for each digest: EVP_Digest allocates and
  // frees a context per call, a cost a scan of the log pays for every event.
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string out(kSha256Size, '\0');
  unsigned int length = 0;
  if (context == nullptr || EVP_DigestInit_ex2(context.get(), sha256_algorithm(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), reinterpret_cast<unsigned char*>(out.data()), &length) !=
          1 ||
      length != kSha256Size) {
    throw std::runtime_error("SHA-256 failed");
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  // One HMAC context per thread, keyed again only when the key changes: the one-shot HMAC()
  // fetches the algorithms and derives the key's pads on every call, several times the cost
  // of the MAC of a token (every authenticated request verifies one).
  struct KeyedContext {
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> context{nullptr, &EVP_MAC_CTX_free};
    std::string key;
  };
  thread_local KeyedContext keyed;
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) throw std::runtime_error("OpenSSL has no HMAC");
  bool ready = false;
  if (keyed.context != nullptr && keyed.key == key) {
    ready = EVP_MAC_init(keyed.context.get(), nullptr, 0, nullptr) == 1;  // the same key
  } else {
    keyed.key.clear();
    keyed.context.reset(EVP_MAC_CTX_new(hmac));
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                                 OSSL_PARAM_construct_end()};
    ready = keyed.context != nullptr &&
            EVP_MAC_init(keyed.context.get(), reinterpret_cast<const unsigned char*>(key.data()),
                         key.size(), params) == 1;
    if (ready) keyed.key = key;
  }
  std::string out(kSha256Size, '\0');
  std::size_t length = 0;
  if (!ready ||
      EVP_MAC_update(keyed.context.get(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1 ||
      EVP_MAC_final(keyed.context.get(), reinterpret_cast<unsigned char*>(out.data()), &length,
                    out.size()) != 1 ||
      length != kSha256Size) {
    keyed.context.reset();  // keyed again on the next call
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string hex_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 0x0f]);
  }
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of a base64 digit whose alphabet ends with `digit62`, `digit63`; -1 otherwise.
int base64_value(char c, char digit62, char digit63) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == digit62) return 62;
  if (c == digit63) return 63;
  return -1;
}

// Decodes base64 digits without padding. Canonical only: a length of 1 mod 4 and a last
// digit with non-zero bits beyond the data are refused, so each byte string has exactly
// one accepted spelling (RFC 4648 section 3.5). Whitespace and '=' are not digits.
std::optional<std::string> decode_base64_digits(std::string_view digits, char digit62,
                                                char digit63) {
  if (digits.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(digits.size() * 3 / 4);
  uint32_t pending = 0;  // bits read but not yet emitted, in the low `pending_bits`
  int pending_bits = 0;
  for (const char c : digits) {
    const int value = base64_value(c, digit62, digit63);
    if (value < 0) return std::nullopt;
    pending = (pending << 6) | static_cast<uint32_t>(value);
    pending_bits += 6;
    if (pending_bits >= 8) {
      pending_bits -= 8;
      out.push_back(static_cast<char>(pending >> pending_bits));
      pending &= (uint32_t{1} << pending_bits) - 1;
    }
  }
  assert(pending_bits == 0 || pending_bits == 2 || pending_bits == 4);
  if (pending != 0) return std::nullopt;  // the last digit carries bits beyond the data
  return out;
}
}  // namespace

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_value(hex[i]);
    const int low = hex_value(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>((high << 4) | low));
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  assert(written >= 0);
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  // Any other '=' (a third one, or one inside) is not a digit and is refused below.
  return decode_base64_digits(text.substr(0, text.size() - padding), '+', '/');
}

std::string base64url_encode(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  return decode_base64_digits(text, '-', '_');
}

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (count > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                              static_cast<int>(count)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

std::string uuid_v4() {
  // 64 UUIDs' bytes from one RAND_bytes call per thread: every request and event takes one
  // or two, and each RAND_bytes call locks and runs the DRBG once. Each byte is used once.
  constexpr std::size_t kBatch = 64 * 16;
  thread_local std::array<unsigned char, kBatch> pool;
  thread_local std::size_t used = kBatch;
  if (used == kBatch) {
    if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) {
      throw std::runtime_error("RAND_bytes failed");
    }
    used = 0;
  }
  char bytes[16];
  std::memcpy(bytes, pool.data() + used, sizeof bytes);
  OPENSSL_cleanse(pool.data() + used, sizeof bytes);
  used += sizeof bytes;
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);
  return uuid_text(std::string_view(bytes, sizeof bytes));
}

std::string uuid_text(std::string_view bytes) {
  std::string text;
  uuid_text(bytes, text);
  return text;
}

void uuid_text(std::string_view bytes, std::string& text) {
  if (bytes.size() != 16) throw std::invalid_argument("a UUID has 16 bytes");
  text.resize(36);  // 8-4-4-4-12 hex digits; the storage is reused when it was a UUID before
  std::size_t out = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text[out++] = '-';
    const auto c = static_cast<unsigned char>(bytes[i]);
    text[out++] = kHexDigits[c >> 4];
    text[out++] = kHexDigits[c & 0x0f];
  }
  assert(out == text.size());
}

}  // namespace crypto
