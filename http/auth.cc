// Bearer credential parsing and resolution.
#include "http/auth.h"

#include <cassert>

#include "auth/jwt.h"

namespace http {
namespace {

// "Bearer <credential>" (scheme case-insensitive, one space) -> credential.
std::optional<std::string_view> bearer_credential(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = header[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != kScheme[i]) return std::nullopt;
  }
  const std::string_view credential = header.substr(kScheme.size());
  for (const char c : credential) {
    if (c <= 0x20 || c > 0x7e) return std::nullopt;
  }
  return credential;
}

}  // namespace

std::string Principal::actor(bool admin_route) const {
  if (is_user()) return "user:" + account_id;
  return (admin_route ? "admin:" : "service:") + key.name;
}

std::string_view auth_failure_name(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kMissing:
      return "missing";
    case AuthFailure::kMalformed:
      return "malformed";
    case AuthFailure::kInvalidToken:
      return "invalid_token";
    case AuthFailure::kUnknownKey:
      return "unknown_key";
  }
  return "unknown";
}

bool authorization_names_api_key(std::string_view authorization) {
  const auto credential = bearer_credential(authorization);
  return credential && auth::looks_like_api_key(*credential);
}

std::variant<Principal, AuthFailure> authenticate(std::string_view authorization,
                                                  const AuthSettings& settings, int64_t now_s,
                                                  const ApiKeyLookup& find_key) {
  assert(!settings.jwt_secret.empty());
  if (authorization.empty()) return AuthFailure::kMissing;
  const auto credential = bearer_credential(authorization);
  if (!credential) return AuthFailure::kMalformed;
  Principal principal;
  if (auth::looks_like_api_key(*credential)) {
    auto identity = find_key(*credential);
    if (!identity) return AuthFailure::kUnknownKey;
    principal.kind = PrincipalKind::kApiKey;
    principal.key = std::move(*identity);
    return principal;
  }
  auto verified = auth::verify_jwt(*credential, settings.jwt_secret, now_s, settings.jwt_leeway_s);
  if (std::holds_alternative<auth::JwtError>(verified)) return AuthFailure::kInvalidToken;
  principal.kind = PrincipalKind::kUser;
  principal.account_id = std::move(std::get<auth::JwtClaims>(verified).subject);
  assert(!principal.account_id.empty());
  return principal;
}

}  // namespace http
