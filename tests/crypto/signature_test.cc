// Ed25519 (crypto/signature.h): a signature verifies under its public key only, for its
// message only; keys of the wrong kind are refused.
#include "crypto/signature.h"

#include <gtest/gtest.h>

namespace {

TEST(Ed25519Test, SignaturesVerifyUnderTheirKeyAndMessageOnly) {
  const crypto::Ed25519KeyPair pair = crypto::ed25519_generate();
  const crypto::Ed25519KeyPair other = crypto::ed25519_generate();
  EXPECT_EQ(pair.private_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  EXPECT_EQ(pair.public_pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  const auto signature = crypto::ed25519_sign(pair.private_pem, "ledger-digest-v1\n42");
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->size(), 64u);
  EXPECT_TRUE(crypto::ed25519_verify(pair.public_pem, "ledger-digest-v1\n42", *signature));
  EXPECT_FALSE(crypto::ed25519_verify(pair.public_pem, "ledger-digest-v1\n43", *signature));
  EXPECT_FALSE(crypto::ed25519_verify(other.public_pem, "ledger-digest-v1\n42", *signature));
  std::string altered = *signature;
  altered[10] = static_cast<char>(altered[10] ^ 1);
  EXPECT_FALSE(crypto::ed25519_verify(pair.public_pem, "ledger-digest-v1\n42", altered));
  EXPECT_FALSE(crypto::ed25519_verify(pair.private_pem, "ledger-digest-v1\n42", *signature));
  EXPECT_FALSE(crypto::ed25519_sign(pair.public_pem, "x"));
  EXPECT_FALSE(crypto::ed25519_sign("not a key", "x"));
  EXPECT_FALSE(crypto::ed25519_verify("not a key", "x", *signature));
}

}  // namespace
