// Known-answer tests for crypto/digest.h (FIPS 180-2, RFC 4231, RFC 4648 vectors).
#include "crypto/digest.h"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

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

// The thread's HMAC context is keyed again when the key changes and reused while it stays:
// alternating keys and repeating one give each key's own MAC every time (RFC 4231 cases 1,
// 2 and 6, the last with a key longer than SHA-256's block, and the empty key).
TEST(HmacSha256, KeysAlternatingAndRepeatedGiveEachKeysMac) {
  const std::string key1(20, '\x0b');
  const std::string key6(131, '\xaa');
  const std::string case1 = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
  const std::string case2 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  const std::string case6 = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
  const std::string empty = "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad";
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(crypto::hex_encode(crypto::hmac_sha256(key1, "Hi There")), case1);
    EXPECT_EQ(crypto::hex_encode(crypto::hmac_sha256(key1, "Hi There")), case1);
    EXPECT_EQ(crypto::hex_encode(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")),
              case2);
    EXPECT_EQ(crypto::hex_encode(crypto::hmac_sha256(
                  key6, "Test Using Larger Than Block-Size Key - Hash Key First")),
              case6);
    EXPECT_EQ(crypto::hex_encode(crypto::hmac_sha256("", "")), empty);
  }
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

// Flips the bits of the last digit that carry no data (the low 2 bits after 2 bytes, the
// low 4 after 1 byte): the spelling a lenient decoder also accepts.
std::string with_stray_bits(std::string encoded, char digit62, char digit63) {
  static const std::string kStandard =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const std::string alphabet = kStandard + digit62 + digit63;
  std::size_t last = encoded.size() - 1;
  while (encoded[last] == '=') --last;
  const std::size_t value = alphabet.find(encoded[last]);
  encoded[last] = alphabet[value ^ 1];
  return encoded;
}

TEST(Base64, RefusesNonCanonicalSpellings) {
  EXPECT_EQ(crypto::base64_decode("").value(), "");
  EXPECT_EQ(crypto::base64_decode("Zg==").value(), "f");
  EXPECT_FALSE(crypto::base64_decode("Zh==").has_value()) << "stray bits after one byte";
  EXPECT_FALSE(crypto::base64_decode("Zm9=").has_value()) << "stray bits after two bytes";
  EXPECT_FALSE(crypto::base64_decode("Zg=").has_value());
  EXPECT_FALSE(crypto::base64_decode("Z===").has_value());
  EXPECT_FALSE(crypto::base64_decode("====").has_value());
  EXPECT_FALSE(crypto::base64_decode("Zg==Zg==").has_value()) << "padding inside";
  EXPECT_FALSE(crypto::base64_decode("Zm=8").has_value());
  EXPECT_FALSE(crypto::base64_decode(" Zg=").has_value());
  EXPECT_FALSE(crypto::base64_decode("Zg==\n").has_value());
  EXPECT_FALSE(crypto::base64_decode("Zm 8").has_value());
  EXPECT_FALSE(crypto::base64_decode("-_8=").has_value()) << "URL alphabet";
}

TEST(Base64Url, RefusesNonCanonicalSpellings) {
  EXPECT_EQ(crypto::base64url_decode("").value(), "");
  EXPECT_EQ(crypto::base64url_decode("Zg").value(), "f");
  EXPECT_FALSE(crypto::base64url_decode("Zh").has_value());
  EXPECT_FALSE(crypto::base64url_decode("-_9").has_value());
  EXPECT_FALSE(crypto::base64url_decode("Zg==").has_value()) << "padding";
  EXPECT_FALSE(crypto::base64url_decode("Zg=").has_value());
  EXPECT_FALSE(crypto::base64url_decode("Zm9v\n").has_value());
  EXPECT_FALSE(crypto::base64url_decode("Zm 9v").has_value());
  EXPECT_FALSE(crypto::base64url_decode("Zm9v/A").has_value()) << "standard alphabet";
}

// Every value has exactly one accepted spelling: of the 64 possible last digits of an
// encoding, exactly those whose unused bits are zero decode (4 or 2 bits unused after 1 or
// 2 trailing bytes), and each decodes to a value that encodes back to that same spelling.
TEST(Base64Url, ExactlyOneSpellingPerValue) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t length = 1; length <= 34; ++length) {
    const std::string value = crypto::random_bytes(length);
    const std::string encoded = crypto::base64url_encode(value);
    const int unused_bits = length % 3 == 1 ? 4 : length % 3 == 2 ? 2 : 0;
    int accepted = 0;
    for (const char last : kAlphabet) {
      std::string spelling = encoded;
      spelling.back() = last;
      const auto decoded = crypto::base64url_decode(spelling);
      if (!decoded) continue;
      ++accepted;
      EXPECT_EQ(crypto::base64url_encode(*decoded), spelling) << "a second spelling";
    }
    EXPECT_EQ(accepted, 64 >> unused_bits) << "length " << length;
    EXPECT_EQ(crypto::base64url_decode(encoded).value(), value);
    if (unused_bits > 0) {
      EXPECT_FALSE(crypto::base64url_decode(with_stray_bits(encoded, '-', '_')).has_value());
      const std::string standard = crypto::base64_encode(value);
      EXPECT_EQ(crypto::base64_decode(standard).value(), value);
      EXPECT_FALSE(crypto::base64_decode(with_stray_bits(standard, '+', '/')).has_value());
    }
  }
}

TEST(Uuid, Version4Format) {
  const std::string id = crypto::uuid_v4();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(id, crypto::uuid_v4());
}

// Drawn from a per-thread pool of random bytes refilled every 64 UUIDs: across refills and
// threads, every UUID is distinct, of version 4 and variant 10.
TEST(Uuid, DistinctAcrossPoolRefillsAndThreads) {
  constexpr int kPerThread = 1'000;
  std::vector<std::string> ids[2];
  std::thread other([&] {
    for (int i = 0; i < kPerThread; ++i) ids[1].push_back(crypto::uuid_v4());
  });
  for (int i = 0; i < kPerThread; ++i) ids[0].push_back(crypto::uuid_v4());
  other.join();
  std::set<std::string> distinct;
  for (const auto& thread_ids : ids) {
    for (const std::string& id : thread_ids) {
      ASSERT_EQ(id.size(), 36u);
      EXPECT_EQ(id[14], '4') << id;
      EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
      distinct.insert(id);
    }
  }
  EXPECT_EQ(distinct.size(), 2u * kPerThread);
}

// The text of a uuid's 16 bytes is what PostgreSQL's uuid_out prints.
TEST(Uuid, TextOfSixteenBytes) {
  EXPECT_EQ(crypto::uuid_text(std::string("\x01\x23\x45\x67\x89\xab\xcd\xef"
                                          "\x00\xff\x10\x20\x30\x40\x50\x60",
                                          16)),
            "01234567-89ab-cdef-00ff-102030405060");
  EXPECT_THROW(crypto::uuid_text(std::string(15, 'a')), std::invalid_argument);
  EXPECT_THROW(crypto::uuid_text(std::string(17, 'a')), std::invalid_argument);
  // Into a string that held other text, longer or shorter: exactly the 36 characters.
  for (std::string text : {std::string(80, 'x'), std::string("ab")}) {
    crypto::uuid_text(std::string(16, '\xff'), text);
    EXPECT_EQ(text, "ffffffff-ffff-ffff-ffff-ffffffffffff");
  }
}

}  // namespace
