// HS256 JSON Web Tokens (RFC 7519) for end users: verification of the bearer token of a
// request, and issuing development tokens (`ledgerctl token --sub alice`). HMAC and
// base64url come from crypto/; no other algorithm is accepted, `none` included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace auth {

inline constexpr std::size_t kJwtLengthMax = 4096;
inline constexpr int64_t kJwtLeewayDefaultS = 30;
// The shortest HS256 secret ledgerd and `ledgerctl token` accept: as many bytes as the
// SHA-256 output (RFC 7518 section 3.2), so the key is never weaker than the MAC.
inline constexpr std::size_t kJwtSecretBytesMin = 32;

struct JwtClaims {
  std::string subject;       // `sub`: the account id (validated as one)
  int64_t expires_at_s = 0;  // `exp`, seconds since the epoch
  int64_t not_before_s = 0;  // `nbf`, 0 when absent
};

enum class JwtError {
  kMalformed,             // not three base64url parts of JSON objects, or too long
  kUnsupportedAlgorithm,  // `alg` is not exactly "HS256" (`none`, HS512, RS256, ...)
  kBadSignature,
  kMissingClaim,  // no `sub` or no `exp`, or a claim of the wrong type
  kInvalidSubject,
  kExpired,      // now > exp + leeway
  kNotYetValid,  // now + leeway < nbf
};
std::string_view jwt_error_name(JwtError error);

// Verifies `token` against `secret` at `now_s` with `leeway_s` of clock skew allowed on
// `exp` and `nbf`. The signature is compared in constant time and checked before any claim
// is trusted. Returns the claims, or why the token is refused.
std::variant<JwtClaims, JwtError> verify_jwt(std::string_view token, std::string_view secret,
                                             int64_t now_s, int64_t leeway_s);

// Signs `header_json` and `payload_json` (exact bytes) with HMAC-SHA256 under `secret`:
// "b64url(header).b64url(payload).b64url(mac)". Tests use it to craft odd tokens.
std::string sign_jwt_hs256(std::string_view secret, std::string_view header_json,
                           std::string_view payload_json);

// A token for `subject` valid from now for `ttl_s` seconds (iat, exp, sub), signed HS256.
// Preconditions: `subject` is a valid account id, ttl_s > 0, secret not empty.
std::string issue_dev_token(std::string_view secret, std::string_view subject, int64_t ttl_s);

}  // namespace auth
