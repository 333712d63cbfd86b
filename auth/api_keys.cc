// API key creation and lookup against ledger_api_keys.
#include "auth/api_keys.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>

#include "crypto/digest.h"
#include "ledger/sql_text.h"

namespace auth {
namespace {

constexpr std::string_view kPrefix = "lk_";
constexpr std::size_t kKeyIdBytes = 8;    // 16 hex characters
constexpr std::size_t kSecretBytes = 32;  // 43 base64url characters
constexpr std::size_t kScopesCountMax = 8;

bool is_known_scope(std::string_view scope) {
  return scope == kScopeReserve || scope == kScopeOpenAccounts || scope == kScopeAdmin;
}

struct KeyParts {
  std::string key_id;
};

// "lk_<16 hex>_<secret>" -> the key id.
std::optional<KeyParts> split_key(std::string_view key) {
  if (key.size() > kApiKeyLengthMax || key.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  const std::string_view rest = key.substr(kPrefix.size());
  const std::size_t id_length = kKeyIdBytes * 2;
  if (rest.size() < id_length + 2 || rest[id_length] != '_') return std::nullopt;
  const std::string_view key_id = rest.substr(0, id_length);
  if (!crypto::hex_decode(key_id)) return std::nullopt;
  return KeyParts{std::string(key_id)};
}

// A bare key id: 16 hex digits, returned in the stored (lower-case) form.
std::optional<std::string> parse_key_id(std::string_view text) {
  if (text.size() != kKeyIdBytes * 2) return std::nullopt;
  const auto bytes = crypto::hex_decode(text);
  if (!bytes) return std::nullopt;
  return crypto::hex_encode(*bytes);
}

std::vector<std::string> split_scopes_column(const std::string& joined) {
  std::vector<std::string> scopes;
  std::size_t start = 0;
  while (start <= joined.size() && !joined.empty()) {
    const std::size_t comma = std::min(joined.find(',', start), joined.size());
    scopes.push_back(joined.substr(start, comma - start));
    start = comma + 1;
  }
  return scopes;
}

}  // namespace

bool ApiKeyIdentity::has_scope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

std::variant<std::vector<std::string>, std::string> parse_scopes(std::string_view comma_separated) {
  std::vector<std::string> scopes;
  std::size_t start = 0;
  while (start <= comma_separated.size()) {
    const std::size_t comma = std::min(comma_separated.find(',', start), comma_separated.size());
    const std::string scope(comma_separated.substr(start, comma - start));
    if (!is_known_scope(scope))
      return "unknown scope '" + scope + "' (known: reserve, open_accounts, admin)";
    if (std::find(scopes.begin(), scopes.end(), scope) != scopes.end()) {
      return "duplicate scope '" + scope + "'";
    }
    scopes.push_back(scope);
    if (scopes.size() > kScopesCountMax) return "too many scopes";
    start = comma + 1;
  }
  return scopes;
}

bool looks_like_api_key(std::string_view token) {
  return token.substr(0, kPrefix.size()) == kPrefix;
}

std::string create_api_key(pg::Connection& connection, const std::string& name,
                           const std::vector<std::string>& scopes) {
  if (name.empty() || name.size() > kApiKeyNameLengthMax) {
    throw std::invalid_argument("api key name must be 1..128 characters");
  }
  if (scopes.empty() || scopes.size() > kScopesCountMax) {
    throw std::invalid_argument("api key needs 1..8 scopes");
  }
  std::string scopes_joined;
  for (const auto& scope : scopes) {
    if (!is_known_scope(scope)) throw std::invalid_argument("unknown scope: " + scope);
    if (!scopes_joined.empty()) scopes_joined += ',';
    scopes_joined += scope;
  }
  const std::string key_id = crypto::hex_encode(crypto::random_bytes(kKeyIdBytes));
  const std::string key = std::string(kPrefix) + key_id + "_" +
                          crypto::base64url_encode(crypto::random_bytes(kSecretBytes));
  assert(split_key(key).has_value());
  connection.exec({"api_keys_create",
                   "INSERT INTO ledger_api_keys (key_id, name, key_hash, scopes)"
                   " VALUES ($1, $2, decode($3, 'hex'), string_to_array($4, ','))",
                   {key_id, name, crypto::hex_encode(crypto::sha256(key)), scopes_joined}});
  return key;
}

std::optional<ApiKeyIdentity> find_api_key(pg::Connection& connection,
                                           std::string_view presented_key) {
  const auto parts = split_key(presented_key);
  if (!parts) return std::nullopt;
  const pg::Result rows =
      connection.exec({"api_keys_find",
                       "SELECT name, key_hash, array_to_string(scopes, ',') FROM ledger_api_keys"
                       " WHERE key_id = $1 AND revoked_at IS NULL",
                       {parts->key_id}});
  if (rows.rows() == 0) return std::nullopt;
  if (!crypto::constant_time_equal(rows.bytes(0, 1), crypto::sha256(presented_key))) {
    return std::nullopt;
  }
  return ApiKeyIdentity{parts->key_id, rows.string(0, 0), split_scopes_column(rows.string(0, 2))};
}

std::vector<ApiKeyListing> list_api_keys(pg::Connection& connection) {
  const pg::Result rows = connection.exec({"api_keys_list",
                                           "SELECT key_id, name, array_to_string(scopes, ','),"
                                           " (extract(epoch from created_at) * 1000000)::bigint,"
                                           " (extract(epoch from revoked_at) * 1000000)::bigint"
                                           " FROM ledger_api_keys ORDER BY created_at, key_id",
                                           {}});
  std::vector<ApiKeyListing> keys;
  keys.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    ApiKeyListing key{rows.string(i, 0), rows.string(i, 1), split_scopes_column(rows.string(i, 2)),
                      rows.int64(i, 3), std::nullopt};
    if (!rows.is_null(i, 4)) key.revoked_at_us = rows.int64(i, 4);
    keys.push_back(std::move(key));
  }
  return keys;
}

ApiKeyRevocation revoke_api_key(pg::Connection& connection, std::string_view key_or_id) {
  const auto parts = split_key(key_or_id);
  const std::optional<std::string> key_id = parts ? parts->key_id : parse_key_id(key_or_id);
  if (!key_id) return {};
  // Key text names a key only when it is that key (its hash matches): a typo must not revoke
  // another one. One statement: the row is locked, checked and updated together.
  const std::string presented_hash = parts ? crypto::hex_encode(crypto::sha256(key_or_id)) : "";
  const pg::Result rows = connection.exec(
      {"api_keys_revoke",
       "WITH target AS (SELECT key_id, revoked_at FROM ledger_api_keys"
       "   WHERE key_id = $1 AND ($2 = '' OR key_hash = decode($2, 'hex')) FOR UPDATE),"
       " revoked AS (UPDATE ledger_api_keys k SET revoked_at = now() FROM target"
       "   WHERE k.key_id = target.key_id AND target.revoked_at IS NULL RETURNING k.revoked_at)"
       " SELECT (extract(epoch from target.revoked_at) * 1000000)::bigint,"
       " (SELECT (extract(epoch from revoked_at) * 1000000)::bigint FROM revoked)"
       " FROM target",
       {*key_id, presented_hash}});
  if (rows.rows() == 0) return {};
  if (!rows.is_null(0, 0)) return {RevokeOutcome::kAlreadyRevoked, *key_id, rows.int64(0, 0)};
  return {RevokeOutcome::kRevoked, *key_id, rows.int64(0, 1)};
}

}  // namespace auth
