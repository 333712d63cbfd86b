// JWT verification: split, decode, check alg, verify MAC, then read claims.
#include "auth/jwt.h"

#include <rapidjson/document.h>

#include <cassert>
#include <chrono>
#include <cmath>
#include <optional>

#include "auth/identifiers.h"
#include "crypto/digest.h"
#include "ledger/json_fields.h"

namespace auth {
namespace {

struct JwtParts {
  std::string_view header_b64;
  std::string_view payload_b64;
  std::string_view signature_b64;
};

std::optional<JwtParts> split_token(std::string_view token) {
  const auto first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  return JwtParts{token.substr(0, first), token.substr(first + 1, second - first - 1),
                  token.substr(second + 1)};
}

// Decodes one base64url part holding a JSON object.
std::optional<rapidjson::Document> decode_json_part(std::string_view part_b64) {
  const auto text = crypto::base64url_decode(part_b64);
  if (!text) return std::nullopt;
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
      text->data(), text->size());
  if (document.HasParseError() || !document.IsObject()) return std::nullopt;
  return document;
}

// A NumericDate claim: an integer or a finite number of seconds (fractions truncated).
std::optional<int64_t> numeric_date(const rapidjson::Value& object, const char* name) {
  const auto member = object.FindMember(name);
  if (member == object.MemberEnd()) return std::nullopt;
  const rapidjson::Value& value = member->value;
  if (value.IsInt64()) return value.GetInt64();
  if (value.IsDouble() && std::isfinite(value.GetDouble()) && std::fabs(value.GetDouble()) < 1e15) {
    return static_cast<int64_t>(value.GetDouble());
  }
  return std::nullopt;
}

std::variant<JwtClaims, JwtError> read_claims(const rapidjson::Document& payload, int64_t now_s,
                                              int64_t leeway_s) {
  const auto sub = payload.FindMember("sub");
  if (sub == payload.MemberEnd() || !sub->value.IsString()) return JwtError::kMissingClaim;
  const auto exp = numeric_date(payload, "exp");
  if (!exp) return JwtError::kMissingClaim;
  JwtClaims claims;
  claims.subject.assign(sub->value.GetString(), sub->value.GetStringLength());
  if (!is_valid_account_id(claims.subject)) return JwtError::kInvalidSubject;
  claims.expires_at_s = *exp;
  // now - leeway, not exp + leeway: `exp` is the token's and may be INT64_MAX.
  if (now_s - leeway_s > claims.expires_at_s) return JwtError::kExpired;
  if (payload.HasMember("nbf")) {
    const auto nbf = numeric_date(payload, "nbf");
    if (!nbf) return JwtError::kMissingClaim;
    claims.not_before_s = *nbf;
    if (now_s + leeway_s < claims.not_before_s) return JwtError::kNotYetValid;
  }
  return claims;
}

}  // namespace

std::string_view jwt_error_name(JwtError error) {
  switch (error) {
    case JwtError::kMalformed:
      return "malformed";
    case JwtError::kUnsupportedAlgorithm:
      return "unsupported_algorithm";
    case JwtError::kBadSignature:
      return "bad_signature";
    case JwtError::kMissingClaim:
      return "missing_claim";
    case JwtError::kInvalidSubject:
      return "invalid_subject";
    case JwtError::kExpired:
      return "expired";
    case JwtError::kNotYetValid:
      return "not_yet_valid";
  }
  return "unknown";
}

std::variant<JwtClaims, JwtError> verify_jwt(std::string_view token, std::string_view secret,
                                             int64_t now_s, int64_t leeway_s) {
  assert(!secret.empty());
  assert(leeway_s >= 0);
  if (token.empty() || token.size() > kJwtLengthMax) return JwtError::kMalformed;
  const auto parts = split_token(token);
  if (!parts) return JwtError::kMalformed;
  const auto header = decode_json_part(parts->header_b64);
  if (!header) return JwtError::kMalformed;
  const auto alg = header->FindMember("alg");
  if (alg == header->MemberEnd() || !alg->value.IsString() ||
      std::string_view(alg->value.GetString(), alg->value.GetStringLength()) != "HS256") {
    return JwtError::kUnsupportedAlgorithm;
  }
  // Extensions we do not understand must not be ignored (RFC 7515 section 4.1.11).
  if (header->HasMember("crit")) return JwtError::kUnsupportedAlgorithm;
  const auto signature = crypto::base64url_decode(parts->signature_b64);
  if (!signature) return JwtError::kMalformed;
  const std::string signing_input =
      std::string(parts->header_b64) + "." + std::string(parts->payload_b64);
  if (!crypto::constant_time_equal(*signature, crypto::hmac_sha256(secret, signing_input))) {
    return JwtError::kBadSignature;
  }
  const auto payload = decode_json_part(parts->payload_b64);
  if (!payload) return JwtError::kMalformed;
  return read_claims(*payload, now_s, leeway_s);
}

std::string sign_jwt_hs256(std::string_view secret, std::string_view header_json,
                           std::string_view payload_json) {
  const std::string signing_input =
      crypto::base64url_encode(header_json) + "." + crypto::base64url_encode(payload_json);
  return signing_input + "." + crypto::base64url_encode(crypto::hmac_sha256(secret, signing_input));
}

std::string issue_dev_token(std::string_view secret, std::string_view subject, int64_t ttl_s) {
  assert(!secret.empty());
  assert(is_valid_account_id(subject));
  assert(ttl_s > 0);
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const std::string payload = ledger::json::object_text([&](ledger::json::Writer& w) {
    ledger::json::put(w, "sub", subject);
    ledger::json::put(w, "iat", now_s);
    ledger::json::put(w, "exp", now_s + ttl_s);
  });
  return sign_jwt_hs256(secret, R"({"alg":"HS256","typ":"JWT"})", payload);
}

}  // namespace auth
