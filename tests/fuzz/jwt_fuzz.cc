// Fuzz target: the HS256 JWT verifier of user requests (http/jwt.h).
//
// Input: a mode byte, then
//   even mode: a bearer token as received (any bytes);
//   odd mode:  header JSON, a NUL byte, payload JSON; the target signs them with kSecret,
//              so the verifier's claim checks are reached with a valid MAC.
//
// Properties:
// - an accepted token has a valid account id as subject and is within exp/nbf (+ leeway);
// - a token accepted for kSecret is refused for kOtherSecret (kBadSignature);
// - single-byte changes, deletions and insertions of an accepted token are refused (every
//   low-bit change of its signature, and a reproducible sample elsewhere);
// - a token the target signed is never refused as kBadSignature;
// - a refusal before the MAC check does not depend on the secret.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/identifiers.h"
#include "auth/jwt.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using Verdict = std::variant<auth::JwtClaims, auth::JwtError>;

constexpr std::string_view kSecret = "fuzz-secret-of-thirty-two-bytes!";
constexpr std::string_view kOtherSecret = "fuzz-other-secret-of-32-bytes!!!";
constexpr int64_t kNowS = 1'800'000'000;
constexpr int64_t kLeewayS = auth::kJwtLeewayDefaultS;
constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr int kScatteredChangesPerToken = 16;

Verdict verify(std::string_view token, std::string_view secret = kSecret) {
  return auth::verify_jwt(token, secret, kNowS, kLeewayS);
}

bool is_accepted(const Verdict& verdict) {
  return std::holds_alternative<auth::JwtClaims>(verdict);
}

bool is_refused_as(const Verdict& verdict, auth::JwtError error) {
  return !is_accepted(verdict) && std::get<auth::JwtError>(verdict) == error;
}

void check_claims(const auth::JwtClaims& claims) {
  FUZZ_REQUIRE(auth::is_valid_account_id(claims.subject));
  FUZZ_REQUIRE(kNowS - kLeewayS <= claims.expires_at_s);
  FUZZ_REQUIRE(claims.not_before_s <= kNowS + kLeewayS);
}

// Every character of the signature part changed to the base64url letters whose 6-bit
// values differ in the low bits (those of the last character are padding) or a high bit.
void check_signature_changes_refused(const std::string& token) {
  for (std::size_t i = token.rfind('.') + 1; i < token.size(); ++i) {
    const std::size_t value = kBase64UrlAlphabet.find(token[i]);
    FUZZ_REQUIRE(value != std::string_view::npos);
    for (const std::size_t flip : {1, 2, 3, 32}) {
      std::string changed = token;
      changed[i] = kBase64UrlAlphabet[value ^ flip];
      FUZZ_REQUIRE(!is_accepted(verify(changed)));
    }
  }
  FUZZ_REQUIRE(!is_accepted(verify(token + "A")));
}

// Single-byte replacements and deletions anywhere in the token, at positions and with bytes
// drawn from a generator seeded by the token: cheap per input, reproducible, and over a
// run every position and byte is tried.
void check_scattered_changes_refused(const std::string& token) {
  uint64_t state = std::hash<std::string>{}(token);
  for (int k = 0; k < kScatteredChangesPerToken; ++k) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    const std::size_t i = static_cast<std::size_t>(state >> 33) % token.size();
    const auto replacement = static_cast<char>(state >> 17);
    std::string changed = token;
    changed[i] = replacement;
    FUZZ_REQUIRE(replacement == token[i] || !is_accepted(verify(changed)));
    FUZZ_REQUIRE(!is_accepted(verify(changed.erase(i, 1))));
  }
}

void check_accepted(const std::string& token, const auth::JwtClaims& claims) {
  check_claims(claims);
  FUZZ_REQUIRE(is_refused_as(verify(token, kOtherSecret), auth::JwtError::kBadSignature));
  check_signature_changes_refused(token);
  check_scattered_changes_refused(token);
}

void check_received_token(std::string_view token) {
  const Verdict verdict = verify(token);
  if (const auto* claims = std::get_if<auth::JwtClaims>(&verdict)) {
    return check_accepted(std::string(token), *claims);
  }
  const auth::JwtError error = std::get<auth::JwtError>(verdict);
  FUZZ_REQUIRE(!auth::jwt_error_name(error).empty());
  // The header and the encodings are checked before the MAC, the payload after it.
  const Verdict other = verify(token, kOtherSecret);
  if (error == auth::JwtError::kUnsupportedAlgorithm) FUZZ_REQUIRE(is_refused_as(other, error));
  if (error == auth::JwtError::kMalformed) {
    FUZZ_REQUIRE(is_refused_as(other, error) ||
                 is_refused_as(other, auth::JwtError::kBadSignature));
  }
}

void check_signed_token(std::string_view header_json, std::string_view payload_json) {
  const std::string token = auth::sign_jwt_hs256(kSecret, header_json, payload_json);
  const Verdict verdict = verify(token);
  if (const auto* claims = std::get_if<auth::JwtClaims>(&verdict)) {
    return check_accepted(token, *claims);
  }
  FUZZ_REQUIRE(!is_refused_as(verdict, auth::JwtError::kBadSignature));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::as_text(data, size);
  if (fuzz::take_byte(input) % 2 == 0) {
    check_received_token(input);
  } else {
    const auto parts = fuzz::split_parts(input, 2);
    check_signed_token(parts[0], parts[1]);
  }
  return 0;
}
