// Tests for webhooks/signature.h: Stripe vectors from stripe-node, rotation, tolerance,
// hostile headers; Shopify and Churnkey MACs.
#include "webhooks/signature.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <string>

#include "crypto/digest.h"
#include "tests/webhooks/signature_vectors.h"

namespace {

using webhooks::SignatureCheck;
using webhooks::StripeSignatureVerifier;
using webhooks_test::kShopifyVectors;
using webhooks_test::kStripeVectors;

constexpr std::string_view kSecret = "whsec_test_secret";
constexpr std::string_view kOtherSecret = "whsec_5f3c1a0e9b7d4c2a8e6f1b3d5a7c9e0f";
constexpr std::string_view kBody = R"({"id":"evt_9","type":"invoice.paid"})";
constexpr int64_t kNow = 1700000000;

TEST(StripeSignature, EveryVectorVerifiesAtItsTimestamp) {
  for (const auto& vector : kStripeVectors) {
    const StripeSignatureVerifier verifier(vector.secret);
    EXPECT_EQ(verifier.verify(vector.header, vector.payload, vector.timestamp_s),
              SignatureCheck::kValid)
        << vector.header;
  }
}

TEST(StripeSignature, HeaderBuilderReproducesEveryVector) {
  for (const auto& vector : kStripeVectors) {
    EXPECT_EQ(webhooks::stripe_signature_header(vector.secret, vector.timestamp_s, vector.payload),
              vector.header);
  }
}

TEST(StripeSignature, VectorFailsWithTheOtherVectorsSecret) {
  for (const auto& vector : kStripeVectors) {
    const std::string_view wrong = vector.secret == kSecret ? kOtherSecret : kSecret;
    const StripeSignatureVerifier verifier(wrong);
    EXPECT_EQ(verifier.verify(vector.header, vector.payload, vector.timestamp_s),
              SignatureCheck::kMismatch);
  }
}

TEST(StripeSignature, SecretIsKeyedWithItsWhsecPrefix) {
  // The SDKs use the whole secret string; stripping "whsec_" must not verify.
  const auto& vector = kStripeVectors[0];
  const StripeSignatureVerifier verifier(vector.secret.substr(6));
  EXPECT_EQ(verifier.verify(vector.header, vector.payload, vector.timestamp_s),
            SignatureCheck::kMismatch);
}

TEST(StripeSignature, TamperedBodyIsMismatch) {
  const auto& vector = kStripeVectors[0];
  const StripeSignatureVerifier verifier(vector.secret);
  std::string tampered(vector.payload);
  tampered[tampered.find("in_1") + 3] = '2';
  EXPECT_EQ(verifier.verify(vector.header, tampered, vector.timestamp_s),
            SignatureCheck::kMismatch);
  EXPECT_EQ(verifier.verify(vector.header, std::string(vector.payload) + " ", vector.timestamp_s),
            SignatureCheck::kMismatch);
}

TEST(StripeSignature, TimestampToleranceIsInclusiveAt300Seconds) {
  const StripeSignatureVerifier verifier(kSecret);
  const std::string header = webhooks::stripe_signature_header(kSecret, kNow, kBody);
  EXPECT_EQ(verifier.verify(header, kBody, kNow + 300), SignatureCheck::kValid);
  EXPECT_EQ(verifier.verify(header, kBody, kNow - 300), SignatureCheck::kValid);
  EXPECT_EQ(verifier.verify(header, kBody, kNow + 301), SignatureCheck::kTimestampOutsideTolerance);
}

TEST(StripeSignature, TooFarFutureTimestampIsRejected) {
  const StripeSignatureVerifier verifier(kSecret);
  const std::string header = webhooks::stripe_signature_header(kSecret, kNow + 301, kBody);
  EXPECT_EQ(verifier.verify(header, kBody, kNow), SignatureCheck::kTimestampOutsideTolerance);
}

TEST(StripeSignature, ExtremeClockValuesDoNotOverflow) {
  const StripeSignatureVerifier verifier(kSecret);
  const std::string header = webhooks::stripe_signature_header(kSecret, kNow, kBody);
  EXPECT_EQ(verifier.verify(header, kBody, INT64_MIN), SignatureCheck::kTimestampOutsideTolerance);
  EXPECT_EQ(verifier.verify(header, kBody, INT64_MAX), SignatureCheck::kTimestampOutsideTolerance);
}

TEST(StripeSignature, CustomToleranceApplies) {
  const StripeSignatureVerifier verifier(kSecret, 10);
  EXPECT_EQ(verifier.tolerance_s(), 10);
  const std::string header = webhooks::stripe_signature_header(kSecret, kNow, kBody);
  EXPECT_EQ(verifier.verify(header, kBody, kNow + 10), SignatureCheck::kValid);
  EXPECT_EQ(verifier.verify(header, kBody, kNow + 11), SignatureCheck::kTimestampOutsideTolerance);
}

TEST(StripeSignature, SignatureIsCheckedBeforeTimestamp) {
  // As in Stripe's SDKs: a forged header is a mismatch whatever its age.
  const StripeSignatureVerifier verifier(kSecret);
  const std::string forged = webhooks::stripe_signature_header(kOtherSecret, kNow, kBody);
  EXPECT_EQ(verifier.verify(forged, kBody, kNow + 100000), SignatureCheck::kMismatch);
}

TEST(StripeSignature, MissingHeader) {
  const StripeSignatureVerifier verifier(kSecret);
  EXPECT_EQ(verifier.verify("", kBody, kNow), SignatureCheck::kMissingHeader);
}

TEST(StripeSignature, GarbageHeadersAreMalformed) {
  const StripeSignatureVerifier verifier(kSecret);
  const std::string valid = webhooks::stripe_signature_header(kSecret, kNow, kBody);
  const std::string v1 = valid.substr(valid.find("v1="));
  const std::string cases[] = {
      "t=",                               // empty timestamp
      "v1=abc",                           // no timestamp
      v1,                                 // valid signature, no timestamp
      "t=abc," + v1,                      // non-numeric timestamp
      "t=1700000000x," + v1,              // trailing junk in timestamp
      "t=-1700000000," + v1,              // signed timestamp
      "t= 1700000000," + v1,              // whitespace is not trimmed (as in the SDKs)
      "t=1700000000" + v1,                // no comma: t's value swallows v1
      "t=1700000000,t=1700000000," + v1,  // repeated timestamp
      "t=1234567890123456789," + v1,      // 19 digits: beyond any plausible time
      "t",                                // key without value
      ",,,",                              // only separators
      " ",                                // whitespace
      "garbage",                          // no structure at all
      std::string(StripeSignatureVerifier::kHeaderBytesMax + 1, 'a'),
  };
  for (const std::string& header : cases) {
    EXPECT_EQ(verifier.verify(header, kBody, kNow), SignatureCheck::kMalformedHeader) << header;
  }
}

TEST(StripeSignature, TooManySignaturesIsMalformed) {
  const StripeSignatureVerifier verifier(kSecret);
  std::string header = webhooks::stripe_signature_header(kSecret, kNow, kBody);
  for (std::size_t i = 0; i < StripeSignatureVerifier::kSignaturesMax; ++i) header += ",v1=00";
  EXPECT_EQ(verifier.verify(header, kBody, kNow), SignatureCheck::kMalformedHeader);
}

TEST(StripeSignature, HeaderWithoutV1HasNoSignatures) {
  const StripeSignatureVerifier verifier(kSecret);
  const std::string valid = webhooks::stripe_signature_header(kSecret, kNow, kBody);
  const std::string digest = valid.substr(valid.find("v1=") + 3);
  EXPECT_EQ(verifier.verify("t=1700000000", kBody, kNow), SignatureCheck::kNoSignatures);
  // A correct digest under the legacy v0 scheme (or an unknown one) is never accepted.
  EXPECT_EQ(verifier.verify("t=1700000000,v0=" + digest, kBody, kNow),
            SignatureCheck::kNoSignatures);
  EXPECT_EQ(verifier.verify("t=1700000000,v2=" + digest, kBody, kNow),
            SignatureCheck::kNoSignatures);
  EXPECT_EQ(verifier.verify("t=1700000000, v1=" + digest, kBody, kNow),
            SignatureCheck::kNoSignatures);
}

TEST(StripeSignature, AnyOfSeveralV1MayMatch) {
  const StripeSignatureVerifier verifier(kSecret);
  const std::string valid = webhooks::stripe_signature_header(kSecret, kNow, kBody);
  const std::string digest = valid.substr(valid.find("v1=") + 3);
  const std::string wrong(64, '0');
  EXPECT_EQ(verifier.verify("t=1700000000,v1=" + wrong + ",v1=" + digest, kBody, kNow),
            SignatureCheck::kValid);
  EXPECT_EQ(verifier.verify("t=1700000000,v1=" + digest + ",v1=" + wrong, kBody, kNow),
            SignatureCheck::kValid);
  EXPECT_EQ(verifier.verify("v0=" + wrong + ",v1=" + digest + ",t=1700000000,x=y", kBody, kNow),
            SignatureCheck::kValid);
  EXPECT_EQ(verifier.verify("t=1700000000,v1=" + wrong + ",v1=" + wrong, kBody, kNow),
            SignatureCheck::kMismatch);
}

TEST(StripeSignature, UpperCaseHexDoesNotMatch) {
  // Stripe sends lower-case hex and its SDKs compare exact strings.
  const StripeSignatureVerifier verifier(kSecret);
  std::string header = webhooks::stripe_signature_header(kSecret, kNow, kBody);
  for (char& c : header) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  header[0] = 't';
  header[header.find("V1=")] = 'v';
  EXPECT_EQ(verifier.verify(header, kBody, kNow), SignatureCheck::kMismatch);
}

TEST(StripeSignature, RotationAcceptsEitherConfiguredSecret) {
  const StripeSignatureVerifier verifier(std::string(kSecret) + "," + std::string(kOtherSecret));
  EXPECT_EQ(verifier.secret_count(), 2u);
  const auto& second = kStripeVectors[1];
  ASSERT_EQ(second.secret, kOtherSecret);
  EXPECT_EQ(verifier.verify(second.header, second.payload, second.timestamp_s),
            SignatureCheck::kValid);
  const auto& first = kStripeVectors[0];
  EXPECT_EQ(verifier.verify(first.header, first.payload, first.timestamp_s),
            SignatureCheck::kValid);
  const std::string foreign = webhooks::stripe_signature_header("whsec_foreign", kNow, kBody);
  EXPECT_EQ(verifier.verify(foreign, kBody, kNow), SignatureCheck::kMismatch);
}

TEST(StripeSignature, SecretsListIsTrimmedAndEmptiesIgnored) {
  const StripeSignatureVerifier verifier(
      " , whsec_test_secret ,,\twhsec_5f3c1a0e9b7d4c2a8e6f1b3d5a7c9e0f\n, ");
  EXPECT_EQ(verifier.secret_count(), 2u);
  for (const auto& vector : kStripeVectors) {
    EXPECT_EQ(verifier.verify(vector.header, vector.payload, vector.timestamp_s),
              SignatureCheck::kValid);
  }
}

TEST(StripeSignature, NoSecretConfiguredRejectsEverything) {
  for (const std::string_view secrets : {"", " ", " , ,"}) {
    const StripeSignatureVerifier verifier(secrets);
    EXPECT_EQ(verifier.secret_count(), 0u);
    // Even a header signed with an empty key must not pass.
    const std::string header = webhooks::stripe_signature_header("", kNow, kBody);
    EXPECT_EQ(verifier.verify(header, kBody, kNow), SignatureCheck::kMismatch);
    EXPECT_EQ(verifier.verify("", kBody, kNow), SignatureCheck::kMismatch);
  }
}

TEST(StripeSignature, DescribeNamesEveryOutcome) {
  EXPECT_STREQ(webhooks::describe(SignatureCheck::kValid), "valid signature");
  EXPECT_STREQ(webhooks::describe(SignatureCheck::kTimestampOutsideTolerance),
               "timestamp outside the tolerance zone");
  EXPECT_STRNE(webhooks::describe(SignatureCheck::kMismatch),
               webhooks::describe(SignatureCheck::kNoSignatures));
  EXPECT_STRNE(webhooks::describe(SignatureCheck::kMissingHeader),
               webhooks::describe(SignatureCheck::kMalformedHeader));
}

TEST(ShopifySignature, VectorVerifies) {
  for (const auto& vector : kShopifyVectors) {
    EXPECT_TRUE(webhooks::verify_shopify_hmac(vector.secret, vector.body, vector.hmac_base64));
  }
}

TEST(ShopifySignature, RejectsWrongSecretBodyOrEncoding) {
  const auto& vector = kShopifyVectors[0];
  EXPECT_FALSE(webhooks::verify_shopify_hmac("shpss_other", vector.body, vector.hmac_base64));
  EXPECT_FALSE(webhooks::verify_shopify_hmac(vector.secret, std::string(vector.body) + " ",
                                             vector.hmac_base64));
  EXPECT_FALSE(webhooks::verify_shopify_hmac(vector.secret, vector.body, ""));
  EXPECT_FALSE(webhooks::verify_shopify_hmac(vector.secret, vector.body, "not base64!"));
  EXPECT_FALSE(webhooks::verify_shopify_hmac("", vector.body, vector.hmac_base64));
  // The same MAC in hex is not the base64 the header must carry.
  const std::string hex = crypto::hex_encode(crypto::base64_decode(vector.hmac_base64).value());
  EXPECT_FALSE(webhooks::verify_shopify_hmac(vector.secret, vector.body, hex));
}

constexpr std::string_view kChurnkeyBody =
    R"({"event":"session","data":{"session":{"result":"cancel"},"customer":{"id":"cus_1"}}})";
constexpr std::string_view kChurnkeySecret = "ck_test_secret";
// Computed independently with Python's hmac module.
constexpr std::string_view kChurnkeyHex =
    "7b2b26602b004040d76f09629a6e67e42debd2506d25289ff2be326196e06a32";

TEST(ChurnkeySignature, AcceptsEitherHexCaseAndSchemePrefix) {
  std::string upper(kChurnkeyHex);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(webhooks::verify_churnkey_hmac(kChurnkeySecret, kChurnkeyBody, kChurnkeyHex));
  EXPECT_TRUE(webhooks::verify_churnkey_hmac(kChurnkeySecret, kChurnkeyBody, upper));
  EXPECT_TRUE(webhooks::verify_churnkey_hmac(kChurnkeySecret, kChurnkeyBody,
                                             "sha256=" + std::string(kChurnkeyHex)));
}

TEST(ChurnkeySignature, RejectsWrongSecretBodyOrEncoding) {
  EXPECT_FALSE(webhooks::verify_churnkey_hmac("ck_other", kChurnkeyBody, kChurnkeyHex));
  EXPECT_FALSE(webhooks::verify_churnkey_hmac(kChurnkeySecret, std::string(kChurnkeyBody) + "\n",
                                              kChurnkeyHex));
  EXPECT_FALSE(webhooks::verify_churnkey_hmac("", kChurnkeyBody, kChurnkeyHex));
  EXPECT_FALSE(webhooks::verify_churnkey_hmac(kChurnkeySecret, kChurnkeyBody, ""));
  EXPECT_FALSE(webhooks::verify_churnkey_hmac(kChurnkeySecret, kChurnkeyBody, "sha256="));
  EXPECT_FALSE(
      webhooks::verify_churnkey_hmac(kChurnkeySecret, kChurnkeyBody, kChurnkeyHex.substr(0, 63)));
  EXPECT_FALSE(
      webhooks::verify_churnkey_hmac(kChurnkeySecret, kChurnkeyBody, kChurnkeyHex.substr(0, 62)));
  std::string wrong_digit(kChurnkeyHex);
  wrong_digit[10] = 'g';
  EXPECT_FALSE(webhooks::verify_churnkey_hmac(kChurnkeySecret, kChurnkeyBody, wrong_digit));
}

}  // namespace
