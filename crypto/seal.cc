// AES-256-GCM over OpenSSL's EVP interface (crypto/seal.h).
#include "crypto/seal.h"

#include <openssl/evp.h>

#include <cassert>
#include <climits>
#include <memory>
#include <stdexcept>

#include "crypto/digest.h"

namespace crypto {
namespace {

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherContext new_context() {
  CipherContext context(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!context) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  return context;
}

const unsigned char* bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// Sizes handed to OpenSSL as int.
bool fits_int(std::size_t size) { return size <= static_cast<std::size_t>(INT_MAX) - 64; }

}  // namespace

std::string new_seal_key() { return random_bytes(kSealKeySize); }

std::string seal(std::string_view key, std::string_view plaintext, std::string_view context) {
  assert(key.size() == kSealKeySize);
  if (key.size() != kSealKeySize || !fits_int(plaintext.size()) || !fits_int(context.size())) {
    throw std::runtime_error("seal: bad key or oversized input");
  }
  const std::string nonce = random_bytes(kSealNonceSize);
  std::string out(kSealNonceSize + plaintext.size() + kSealTagSize, '\0');
  out.replace(0, kSealNonceSize, nonce);
  auto* cipher_out = reinterpret_cast<unsigned char*>(out.data() + kSealNonceSize);
  CipherContext cipher = new_context();
  int length = 0;
  int written = 0;
  if (EVP_EncryptInit_ex(cipher.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(cipher.get(), nullptr, &length, bytes(context),
                        static_cast<int>(context.size())) != 1 ||
      EVP_EncryptUpdate(cipher.get(), cipher_out, &length, bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    throw std::runtime_error("AES-256-GCM encryption failed");
  }
  written = length;
  if (EVP_EncryptFinal_ex(cipher.get(), cipher_out + written, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(cipher.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kSealTagSize),
                          cipher_out + plaintext.size()) != 1) {
    throw std::runtime_error("AES-256-GCM encryption failed");
  }
  assert(written + length == static_cast<int>(plaintext.size()));  // GCM is a stream mode
  return out;
}

std::optional<std::string> open_sealed(std::string_view key, std::string_view sealed,
                                       std::string_view context) {
  if (key.size() != kSealKeySize || sealed.size() < kSealOverhead || !fits_int(sealed.size()) ||
      !fits_int(context.size())) {
    return std::nullopt;
  }
  const std::size_t text_size = sealed.size() - kSealOverhead;
  const std::string_view nonce = sealed.substr(0, kSealNonceSize);
  const std::string_view ciphertext = sealed.substr(kSealNonceSize, text_size);
  std::string tag(sealed.substr(kSealNonceSize + text_size));
  std::string out(text_size, '\0');
  CipherContext cipher = new_context();
  int length = 0;
  if (EVP_DecryptInit_ex(cipher.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(cipher.get(), nullptr, &length, bytes(context),
                        static_cast<int>(context.size())) != 1 ||
      EVP_DecryptUpdate(cipher.get(), reinterpret_cast<unsigned char*>(out.data()), &length,
                        bytes(ciphertext), static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(cipher.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kSealTagSize),
                          tag.data()) != 1) {
    return std::nullopt;
  }
  const int written = length;
  // The tag check: a different key, context or any altered byte fails here.
  if (EVP_DecryptFinal_ex(cipher.get(), reinterpret_cast<unsigned char*>(out.data()) + written,
                          &length) != 1) {
    return std::nullopt;
  }
  return out;
}

}  // namespace crypto
