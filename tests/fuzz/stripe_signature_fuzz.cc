// Fuzz target: webhook signature checks (webhooks/signature.h): the Stripe-Signature header
// parser and verifier, and the Shopify and Churnkey HMAC headers.
//
// Input: header, a NUL byte, raw body. The header is checked as received, and again with a
// genuine `t=...,v1=...` signature of the body by kSecret appended to it; it is also tried
// as a Shopify (base64) and a Churnkey (hex) MAC header of the body.
//
// Properties:
// - a header accepted for kSecret is refused for kOtherSecret (unless it also carries that
//   secret's signature), accepted when kSecret is one of several (rotation), and refused
//   for another body or outside the tolerance;
// - with a genuine signature appended, the verdict is kValid unless the received part
//   repeats `t`, pushes the `v1` count or the length over the limits (kMalformedHeader);
// - a Shopify or Churnkey header is accepted only when it encodes the body's MAC under that
//   secret: exactly the canonical base64, or the hex in any case with an optional
//   "sha256=" prefix.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/digest.h"
#include "tests/fuzz/fuzz_support.h"
#include "webhooks/signature.h"

namespace {

using webhooks::SignatureCheck;
using webhooks::StripeSignatureVerifier;

constexpr std::string_view kSecret = "whsec_fuzz_secret";
constexpr std::string_view kOtherSecret = "whsec_fuzz_other";
constexpr int64_t kNowS = 1'800'000'000;

SignatureCheck verify_stripe(std::string_view secrets, std::string_view header,
                             std::string_view body, int64_t now_s = kNowS) {
  return StripeSignatureVerifier(secrets).verify(header, body, now_s);
}

// The `v1` value a genuine header of `secret` carries for `body` at kNowS.
std::string genuine_v1(std::string_view secret, std::string_view body) {
  const std::string header = webhooks::stripe_signature_header(secret, kNowS, body);
  return header.substr(header.find(",v1=") + 4);
}

void check_accepted_stripe_header(std::string_view header, std::string_view body) {
  if (header.find(genuine_v1(kOtherSecret, body)) == std::string_view::npos) {
    FUZZ_REQUIRE(verify_stripe(kOtherSecret, header, body) == SignatureCheck::kMismatch);
  }
  const std::string rotation = std::string(kOtherSecret) + " , " + std::string(kSecret) + ",";
  FUZZ_REQUIRE(verify_stripe(rotation, header, body) == SignatureCheck::kValid);
  FUZZ_REQUIRE(verify_stripe(kSecret, header, std::string(body) + " ") ==
               SignatureCheck::kMismatch);
  const int64_t late_s = kNowS + StripeSignatureVerifier::kToleranceSecondsDefault + 1;
  FUZZ_REQUIRE(verify_stripe(kSecret, header, body, late_s) ==
               SignatureCheck::kTimestampOutsideTolerance);
}

// What the received part of a header does to an appended genuine signature: the header
// format's rules (items on ',', key before the first '='), restated independently.
struct ReceivedItems {
  int timestamps = 0;
  std::size_t signatures_v1 = 0;
};

ReceivedItems count_items(std::string_view header) {
  ReceivedItems items;
  while (true) {
    const std::size_t comma = header.find(',');
    const std::string_view key = header.substr(0, std::min(comma, header.find('=')));
    if (key == "t") ++items.timestamps;
    if (key == "v1") ++items.signatures_v1;
    if (comma == std::string_view::npos) return items;
    header.remove_prefix(comma + 1);
  }
}

void check_stripe(std::string_view received, std::string_view body) {
  const SignatureCheck as_received = verify_stripe(kSecret, received, body);
  FUZZ_REQUIRE(webhooks::describe(as_received) != nullptr);
  if (as_received == SignatureCheck::kValid) check_accepted_stripe_header(received, body);

  const std::string header =
      std::string(received) + "," + webhooks::stripe_signature_header(kSecret, kNowS, body);
  const SignatureCheck with_genuine = verify_stripe(kSecret, header, body);
  const ReceivedItems items = count_items(received);
  const bool over_limits = header.size() > StripeSignatureVerifier::kHeaderBytesMax ||
                           items.signatures_v1 + 1 > StripeSignatureVerifier::kSignaturesMax;
  const bool malformed = items.timestamps > 0 || over_limits;
  FUZZ_REQUIRE(with_genuine ==
               (malformed ? SignatureCheck::kMalformedHeader : SignatureCheck::kValid));
  if (with_genuine == SignatureCheck::kValid) check_accepted_stripe_header(header, body);
}

std::string lower_case(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

void check_shopify(std::string_view header, std::string_view body) {
  const std::string mac_base64 = crypto::base64_encode(crypto::hmac_sha256(kSecret, body));
  FUZZ_REQUIRE(webhooks::verify_shopify_hmac(kSecret, body, mac_base64));
  FUZZ_REQUIRE(!webhooks::verify_shopify_hmac(kOtherSecret, body, mac_base64));
  FUZZ_REQUIRE(webhooks::verify_shopify_hmac(kSecret, body, header) == (header == mac_base64));
}

void check_churnkey(std::string_view header, std::string_view body) {
  const std::string mac_hex = crypto::hex_encode(crypto::hmac_sha256(kSecret, body));
  FUZZ_REQUIRE(webhooks::verify_churnkey_hmac(kSecret, body, "sha256=" + mac_hex));
  FUZZ_REQUIRE(!webhooks::verify_churnkey_hmac(kOtherSecret, body, mac_hex));
  std::string_view hex = header;
  if (hex.starts_with("sha256=")) hex.remove_prefix(7);
  FUZZ_REQUIRE(webhooks::verify_churnkey_hmac(kSecret, body, header) ==
               (lower_case(hex) == mac_hex));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 2);
  check_stripe(parts[0], parts[1]);
  check_shopify(parts[0], parts[1]);
  check_churnkey(parts[0], parts[1]);
  return 0;
}
