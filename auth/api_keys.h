// Service and admin API keys: "lk_" + key id (16 hex) + "_" + secret (43 base64url chars).
// Only the SHA-256 of the whole key is stored (ledger_api_keys, with name and scopes); the
// key itself is shown once, by `ledgerctl api-key create`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ledger/pg.h"

namespace auth {

// Reservations on accounts that exist (opened by their user or by a key with the scope below).
inline constexpr std::string_view kScopeReserve = "reserve";
// With `reserve`: a reservation may also open an account that was never opened (free plan).
inline constexpr std::string_view kScopeOpenAccounts = "open_accounts";
inline constexpr std::string_view kScopeAdmin = "admin";  // /api/v1/admin/...
inline constexpr std::size_t kApiKeyNameLengthMax = 128;
inline constexpr std::size_t kApiKeyLengthMax = 128;

struct ApiKeyIdentity {
  std::string key_id;
  std::string name;
  std::vector<std::string> scopes;

  bool has_scope(std::string_view scope) const;
};

// Parses "reserve,admin" into known, distinct scopes. Returns the scopes or an error
// message naming the offending entry (unknown scope, empty list, duplicate).
std::variant<std::vector<std::string>, std::string> parse_scopes(std::string_view comma_separated);

// True when `token` has the shape of an API key (prefix "lk_"); says nothing of validity.
bool looks_like_api_key(std::string_view token);

// Creates a key named `name` with `scopes`, stores its hash, and returns the key text.
// Throws std::invalid_argument when name is empty/too long or a scope is unknown, and
// pg::Error when the database fails.
std::string create_api_key(pg::Connection& connection, const std::string& name,
                           const std::vector<std::string>& scopes);

// Returns the identity of a presented key, or nullopt when it is malformed, unknown,
// revoked, or its hash does not match (compared in constant time). Reads the table on every
// call (nothing is cached), so a revocation refuses the key from the next request on.
// Throws pg::Error when the database fails.
std::optional<ApiKeyIdentity> find_api_key(pg::Connection& connection,
                                           std::string_view presented_key);

// What `ledgerctl api-key list` shows of a key: never the key or its hash.
struct ApiKeyListing {
  std::string key_id;
  std::string name;
  std::vector<std::string> scopes;
  int64_t created_at_us = 0;
  std::optional<int64_t> revoked_at_us;  // nullopt while the key is active
};

// Every key, oldest first. Throws pg::Error when the database fails.
std::vector<ApiKeyListing> list_api_keys(pg::Connection& connection);

enum class RevokeOutcome {
  kRevoked,         // active until now
  kAlreadyRevoked,  // unchanged: revoking twice is harmless
  kNotFound,        // no such id, or key text whose hash matches no stored key
};

struct ApiKeyRevocation {
  RevokeOutcome outcome = RevokeOutcome::kNotFound;
  std::string key_id;  // the key's id when found
  int64_t revoked_at_us = 0;
};

// Revokes the key named by `key_or_id`: the whole key text ("lk_<id>_<secret>", which must
// match its stored hash) or its 16-hex-digit id. Idempotent. Throws pg::Error when the
// database fails.
ApiKeyRevocation revoke_api_key(pg::Connection& connection, std::string_view key_or_id);

}  // namespace auth
