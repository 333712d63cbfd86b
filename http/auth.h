// Who is calling: the Authorization header resolved to a user (HS256 JWT, `sub` = account)
// or an API key (scopes), and the authorization rules of the routes built on it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/api_keys.h"

namespace http {

enum class PrincipalKind { kUser, kApiKey };

struct Principal {
  PrincipalKind kind = PrincipalKind::kUser;
  std::string account_id;  // users only: the JWT subject
  auth::ApiKeyIdentity key;  // API keys only

  bool is_user() const { return kind == PrincipalKind::kUser; }
  bool has_scope(std::string_view scope) const { return !is_user() && key.has_scope(scope); }
  // The event metadata actor: "user:<sub>", "service:<key name>" or "admin:<key name>".
  std::string actor(bool admin_route) const;
};

enum class AuthFailure {
  kMissing,       // no Authorization header
  kMalformed,     // not "Bearer <credential>"
  kInvalidToken,  // JWT refused (see log reason)
  kUnknownKey,    // API key malformed, unknown, revoked
};
std::string_view auth_failure_name(AuthFailure failure);

struct AuthSettings {
  std::string jwt_secret;
  int64_t jwt_leeway_s = 30;
};

// Looks an API key up (a database read); nullopt for an unknown key.
using ApiKeyLookup = std::function<std::optional<auth::ApiKeyIdentity>(std::string_view)>;

// True when the Authorization header carries an API key, whose resolution reads the
// database; a JWT and a malformed or missing credential are decided without it.
bool authorization_names_api_key(std::string_view authorization);

// Resolves the Authorization header value (empty when absent) at `now_s`. "Bearer lk_..."
// is an API key (looked up through `find_key`), any other bearer credential a JWT.
// Exceptions of `find_key` (database down) propagate.
std::variant<Principal, AuthFailure> authenticate(std::string_view authorization,
                                                  const AuthSettings& settings, int64_t now_s,
                                                  const ApiKeyLookup& find_key);

}  // namespace http
