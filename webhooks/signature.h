// Webhook signature verification for Stripe, Shopify and Churnkey: the one place that
// decides whether a raw webhook body was signed by its provider. Pure: no I/O, no clock
// (callers pass the current time). All MAC work goes through crypto/digest.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace webhooks {

// The outcome of checking one Stripe-Signature header. Only kValid accepts the request.
enum class SignatureCheck {
  kValid,
  kMissingHeader,              // The header is absent (empty).
  kMalformedHeader,            // No usable `t=` (absent, repeated, non-numeric) or over limits.
  kNoSignatures,               // The header carries no `v1=` signature.
  kTimestampOutsideTolerance,  // Signature matches but |now - t| exceeds the tolerance.
  kMismatch,                   // No `v1` matches any configured secret (or none configured).
};

// Returns a short, stable, human-readable description of `check` (for logs and error
// details). Never returns nullptr.
const char* describe(SignatureCheck check);

// Verifies `Stripe-Signature` headers the way Stripe's SDKs do: the header is
// `t=<unix seconds>,v1=<hex>,...`, split on ',' and each item on its first '='; the
// expected signature is the lower-case hex HMAC-SHA256 of "<t>.<raw body>" keyed by the
// whole secret string (including its `whsec_` prefix). Any `v1` may match any configured
// secret, so secrets can be rotated; `v0` and unknown schemes are ignored. Unlike the SDKs,
// a timestamp too far in the future is rejected as well as one too old, and a repeated `t`
// is malformed rather than silently resolved.
class StripeSignatureVerifier {
 public:
  static constexpr int64_t kToleranceSecondsDefault = 300;
  // Limits on attacker-controlled input; Stripe's own headers are far below them.
  static constexpr std::size_t kHeaderBytesMax = 8192;
  static constexpr std::size_t kSignaturesMax = 16;

  // Builds a verifier from `secrets_comma_separated` (the STRIPE_WEBHOOK_SECRET format):
  // each comma-separated item is trimmed of surrounding whitespace and empty items are
  // ignored. With no secret left, every request is rejected with kMismatch.
  // Requires tolerance_s >= 0.
  explicit StripeSignatureVerifier(std::string_view secrets_comma_separated,
                                   int64_t tolerance_s = kToleranceSecondsDefault);

  // Checks `header` against `raw_body` (the exact bytes received) at `now_unix_s`.
  // Returns kValid only when some `v1` signature matches some secret and the header's
  // timestamp is within the tolerance of `now_unix_s`. An empty header is kMissingHeader.
  // The check order follows Stripe's SDKs: header shape, presence of `v1`, signature
  // match, then timestamp.
  SignatureCheck verify(std::string_view header, std::string_view raw_body,
                        int64_t now_unix_s) const;

  // Returns the number of secrets configured after trimming and dropping empties.
  std::size_t secret_count() const { return secrets_.size(); }
  int64_t tolerance_s() const { return tolerance_s_; }

 private:
  std::vector<std::string> secrets_;
  int64_t tolerance_s_;
};

// Returns a valid `Stripe-Signature` header value, `t=<t>,v1=<hex>`, for `body` signed at
// `timestamp_unix_s` with `secret`. For tests and tools that simulate Stripe.
std::string stripe_signature_header(std::string_view secret, int64_t timestamp_unix_s,
                                    std::string_view body);

// Returns true when `header_base64` (the `X-Shopify-Hmac-Sha256` value) is the standard
// base64 HMAC-SHA256 of `raw_body` keyed by `secret`. Compares in constant time. Returns
// false when the secret is empty or the header is empty or not valid base64.
bool verify_shopify_hmac(std::string_view secret, std::string_view raw_body,
                         std::string_view header_base64);

// Returns true when `header_hex` is the hexadecimal HMAC-SHA256 of `raw_body` keyed by
// `secret`, in either case and optionally prefixed by "sha256=". Compares in constant
// time. Returns false when the secret is empty or the header is empty or not hex.
bool verify_churnkey_hmac(std::string_view secret, std::string_view raw_body,
                          std::string_view header_hex);

}  // namespace webhooks
