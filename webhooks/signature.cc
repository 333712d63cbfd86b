// Stripe, Shopify and Churnkey webhook signature checks (see signature.h).
#include "webhooks/signature.h"

#include <algorithm>
#include <cassert>
#include <optional>

#include "crypto/digest.h"

namespace webhooks {
namespace {

// Enough digits for any plausible Unix time, few enough that parsing cannot overflow.
constexpr std::size_t kTimestampDigitsMax = 18;
// A base64 or hex HMAC-SHA256 is 44 or 64 characters; anything much longer is not one.
constexpr std::size_t kMacTextBytesMax = 128;

struct StripeHeader {
  int64_t timestamp_s = 0;
  std::vector<std::string_view> signatures_v1;
};

std::string_view trim_whitespace(std::string_view text) {
  constexpr std::string_view kWhitespace = " \t\r\n";
  const std::size_t begin = text.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  const std::size_t end = text.find_last_not_of(kWhitespace);
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string> split_secrets(std::string_view secrets_comma_separated) {
  std::vector<std::string> secrets;
  std::string_view rest = secrets_comma_separated;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view secret = trim_whitespace(rest.substr(0, comma));
    if (!secret.empty()) secrets.emplace_back(secret);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return secrets;
}

// Parses a decimal Unix timestamp: digits only, no sign, no spaces.
std::optional<int64_t> parse_timestamp(std::string_view digits) {
  if (digits.empty() || digits.size() > kTimestampDigitsMax) return std::nullopt;
  int64_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  assert(value >= 0);
  return value;
}

// Splits the header like Stripe's SDKs: items on ',', key and value on the first '='.
// Returns nullopt when `t` is absent, repeated or not a number, or limits are exceeded.
std::optional<StripeHeader> parse_stripe_header(std::string_view header) {
  StripeHeader parsed;
  bool timestamp_seen = false;
  std::string_view rest = header;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const std::size_t equals = item.find('=');
    const std::string_view key = item.substr(0, equals);
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view{} : item.substr(equals + 1);
    if (key == "t") {
      const std::optional<int64_t> timestamp_s = parse_timestamp(value);
      if (timestamp_seen || !timestamp_s) return std::nullopt;
      timestamp_seen = true;
      parsed.timestamp_s = *timestamp_s;
    } else if (key == "v1") {
      if (parsed.signatures_v1.size() == StripeSignatureVerifier::kSignaturesMax) {
        return std::nullopt;
      }
      parsed.signatures_v1.push_back(value);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!timestamp_seen) return std::nullopt;
  return parsed;
}

std::string stripe_expected_signature(std::string_view secret, int64_t timestamp_s,
                                      std::string_view body) {
  std::string signed_payload = std::to_string(timestamp_s);
  signed_payload.push_back('.');
  signed_payload.append(body);
  return crypto::hex_encode(crypto::hmac_sha256(secret, signed_payload));
}

// |a - b| > limit without signed overflow for any int64 inputs; limit >= 0.
bool differs_by_more_than(int64_t a, int64_t b, int64_t limit) {
  assert(limit >= 0);
  const uint64_t distance = a >= b ? static_cast<uint64_t>(a) - static_cast<uint64_t>(b)
                                   : static_cast<uint64_t>(b) - static_cast<uint64_t>(a);
  return distance > static_cast<uint64_t>(limit);
}

// Compares `mac` with the MAC decoded from a header, in constant time for equal lengths.
bool mac_matches(std::string_view mac, const std::optional<std::string>& decoded) {
  assert(mac.size() == crypto::kSha256Size);
  return decoded.has_value() && crypto::constant_time_equal(mac, *decoded);
}

}  // namespace

const char* describe(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::kValid:
      return "valid signature";
    case SignatureCheck::kMissingHeader:
      return "missing signature header";
    case SignatureCheck::kMalformedHeader:
      return "unable to extract timestamp and signatures from header";
    case SignatureCheck::kNoSignatures:
      return "no signatures found with expected scheme v1";
    case SignatureCheck::kTimestampOutsideTolerance:
      return "timestamp outside the tolerance zone";
    case SignatureCheck::kMismatch:
      return "no signatures found matching the expected signature";
  }
  return "unknown signature check";
}

StripeSignatureVerifier::StripeSignatureVerifier(std::string_view secrets_comma_separated,
                                                 int64_t tolerance_s)
    : secrets_(split_secrets(secrets_comma_separated)), tolerance_s_(tolerance_s) {
  assert(tolerance_s_ >= 0);
  assert(std::ranges::none_of(secrets_, [](const std::string& secret) { return secret.empty(); }));
}

SignatureCheck StripeSignatureVerifier::verify(std::string_view header, std::string_view raw_body,
                                               int64_t now_unix_s) const {
  if (secrets_.empty()) return SignatureCheck::kMismatch;
  if (header.empty()) return SignatureCheck::kMissingHeader;
  if (header.size() > kHeaderBytesMax) return SignatureCheck::kMalformedHeader;
  const std::optional<StripeHeader> parsed = parse_stripe_header(header);
  if (!parsed) return SignatureCheck::kMalformedHeader;
  if (parsed->signatures_v1.empty()) return SignatureCheck::kNoSignatures;

  bool matched = false;
  for (const std::string& secret : secrets_) {
    const std::string expected = stripe_expected_signature(secret, parsed->timestamp_s, raw_body);
    for (const std::string_view candidate : parsed->signatures_v1) {
      matched = crypto::constant_time_equal(expected, candidate) || matched;
    }
  }
  if (!matched) return SignatureCheck::kMismatch;
  if (differs_by_more_than(now_unix_s, parsed->timestamp_s, tolerance_s_)) {
    return SignatureCheck::kTimestampOutsideTolerance;
  }
  return SignatureCheck::kValid;
}

std::string stripe_signature_header(std::string_view secret, int64_t timestamp_unix_s,
                                    std::string_view body) {
  assert(timestamp_unix_s >= 0);
  return "t=" + std::to_string(timestamp_unix_s) +
         ",v1=" + stripe_expected_signature(secret, timestamp_unix_s, body);
}

bool verify_shopify_hmac(std::string_view secret, std::string_view raw_body,
                         std::string_view header_base64) {
  if (secret.empty() || header_base64.empty() || header_base64.size() > kMacTextBytesMax) {
    return false;
  }
  return mac_matches(crypto::hmac_sha256(secret, raw_body), crypto::base64_decode(header_base64));
}

bool verify_churnkey_hmac(std::string_view secret, std::string_view raw_body,
                          std::string_view header_hex) {
  constexpr std::string_view kSchemePrefix = "sha256=";
  if (header_hex.starts_with(kSchemePrefix)) header_hex.remove_prefix(kSchemePrefix.size());
  if (secret.empty() || header_hex.empty() || header_hex.size() > kMacTextBytesMax) {
    return false;
  }
  return mac_matches(crypto::hmac_sha256(secret, raw_body), crypto::hex_decode(header_hex));
}

}  // namespace webhooks
