// AES-256-GCM sealing (crypto/seal.h): a round trip, and every way a sealed text must fail
// to open (other key, other context, any altered byte, truncation).
#include "crypto/seal.h"

#include <gtest/gtest.h>

namespace {

TEST(SealTest, OpensWithItsKeyAndContextOnly) {
  const std::string key = crypto::new_seal_key();
  ASSERT_EQ(key.size(), crypto::kSealKeySize);
  const std::string plaintext = std::string("jane@example.com\0+15550100", 26);
  const std::string sealed = crypto::seal(key, plaintext, "webhook:shopify:w1");
  EXPECT_EQ(sealed.size(), plaintext.size() + crypto::kSealOverhead);
  EXPECT_EQ(sealed.find("jane@example.com"), std::string::npos);
  EXPECT_EQ(crypto::open_sealed(key, sealed, "webhook:shopify:w1"), plaintext);
  EXPECT_FALSE(crypto::open_sealed(key, sealed, "webhook:shopify:w2"));
  EXPECT_FALSE(crypto::open_sealed(crypto::new_seal_key(), sealed, "webhook:shopify:w1"));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string altered = sealed;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    EXPECT_FALSE(crypto::open_sealed(key, altered, "webhook:shopify:w1")) << "byte " << i;
  }
  EXPECT_FALSE(crypto::open_sealed(key, sealed.substr(0, sealed.size() - 1), "webhook:shopify:w1"));
  EXPECT_FALSE(crypto::open_sealed(key, "", "webhook:shopify:w1"));
  EXPECT_FALSE(crypto::open_sealed(key.substr(1), sealed, "webhook:shopify:w1"));
}

TEST(SealTest, EverySealHasItsOwnNonceAndEmptyTextsSeal) {
  const std::string key = crypto::new_seal_key();
  const std::string a = crypto::seal(key, "same", "c");
  const std::string b = crypto::seal(key, "same", "c");
  EXPECT_NE(a, b);
  EXPECT_EQ(crypto::open_sealed(key, a, "c"), "same");
  EXPECT_EQ(crypto::open_sealed(key, b, "c"), "same");
  const std::string empty = crypto::seal(key, "", "c");
  EXPECT_EQ(empty.size(), crypto::kSealOverhead);
  EXPECT_EQ(crypto::open_sealed(key, empty, "c"), "");
}

}  // namespace
