// Known-answer tests for crypto/digest.h (FIPS 180-2, RFC 4231, RFC 4648 vectors).
#include "crypto/digest.h"

#include <gtest/gtest.h>

namespace {

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(crypto::hex_encode(crypto::sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(crypto::hex_encode(crypto::sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HmacSha256, Rfc4231Case2) {
  EXPECT_EQ(crypto::hex_encode(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(crypto::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(crypto::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(crypto::constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(crypto::constant_time_equal("", ""));
}

TEST(Hex, RoundTripAndRejects) {
  EXPECT_EQ(crypto::hex_decode("00ff10Ab").value(), std::string("\x00\xff\x10\xab", 4));
  EXPECT_FALSE(crypto::hex_decode("abc").has_value());
  EXPECT_FALSE(crypto::hex_decode("zz").has_value());
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(crypto::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(crypto::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(crypto::base64_decode("Zm8=").value(), "fo");
  EXPECT_EQ(crypto::base64_decode("Zg==").value(), "f");
  EXPECT_FALSE(crypto::base64_decode("Zm8").has_value());
  EXPECT_FALSE(crypto::base64_decode("Zm8*").has_value());
}

TEST(Base64Url, NoPaddingAndUrlAlphabet) {
  EXPECT_EQ(crypto::base64url_encode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(crypto::base64url_decode("-_8").value(), std::string("\xfb\xff", 2));
  EXPECT_FALSE(crypto::base64url_decode("a+b").has_value());
  EXPECT_FALSE(crypto::base64url_decode("a").has_value());
}

TEST(Uuid, Version4Format) {
  const std::string id = crypto::uuid_v4();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(id, crypto::uuid_v4());
}

}  // namespace
