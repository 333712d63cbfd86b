// Ed25519 signatures over OpenSSL (PEM keys): digests that anyone holding the public key can
// check, without the secret that signs them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crypto {

struct Ed25519KeyPair {
  std::string private_pem;  // PKCS#8 "PRIVATE KEY"
  std::string public_pem;   // SubjectPublicKeyInfo "PUBLIC KEY"
};

// A new key pair (what `openssl genpkey -algorithm ed25519` makes). Throws on failure.
Ed25519KeyPair ed25519_generate();

// The 64-byte signature of `message` under the PEM private key; nullopt when the PEM is not
// an Ed25519 private key.
std::optional<std::string> ed25519_sign(std::string_view private_pem, std::string_view message);

// True when `signature` is the PEM public key's signature of `message` (false for a PEM that
// is not an Ed25519 public key).
bool ed25519_verify(std::string_view public_pem, std::string_view message,
                    std::string_view signature);

}  // namespace crypto
