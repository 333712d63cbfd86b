// Ed25519 over OpenSSL's EVP interface (crypto/signature.h).
#include "crypto/signature.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>

namespace crypto {
namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Bio memory_bio(std::string_view pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
}

Key ed25519_only(EVP_PKEY* key) {
  Key owned(key, &EVP_PKEY_free);
  if (owned && EVP_PKEY_id(owned.get()) != EVP_PKEY_ED25519) owned.reset();
  return owned;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

const unsigned char* bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

Ed25519KeyPair ed25519_generate() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free);
  Bio private_bio(BIO_new(BIO_s_mem()), &BIO_free);
  Bio public_bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!key || !private_bio || !public_bio ||
      PEM_write_bio_PrivateKey(private_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1 ||
      PEM_write_bio_PUBKEY(public_bio.get(), key.get()) != 1) {
    throw std::runtime_error("Ed25519 key generation failed");
  }
  return {bio_text(private_bio.get()), bio_text(public_bio.get())};
}

std::optional<std::string> ed25519_sign(std::string_view private_pem, std::string_view message) {
  Bio bio = memory_bio(private_pem);
  if (!bio) return std::nullopt;
  Key key = ed25519_only(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  DigestContext context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!key || !context) return std::nullopt;
  std::string signature(64, '\0');
  std::size_t length = signature.size();
  if (EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     bytes(message), message.size()) != 1 ||
      length != 64) {
    return std::nullopt;
  }
  return signature;
}

bool ed25519_verify(std::string_view public_pem, std::string_view message,
                    std::string_view signature) {
  Bio bio = memory_bio(public_pem);
  if (!bio || signature.size() != 64) return false;
  Key key = ed25519_only(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  DigestContext context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return key && context &&
         EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(context.get(), bytes(signature), signature.size(), bytes(message),
                          message.size()) == 1;
}

}  // namespace crypto
