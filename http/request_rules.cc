// Shared route rules.
#include "http/request_rules.h"

#include <chrono>

#include "auth/identifiers.h"
#include "crypto/digest.h"
#include "http/request_body.h"
#include "ledger/time_format.h"

namespace http {

HttpReply unauthorized() { return json_error(401, "unauthorized"); }
HttpReply forbidden() { return json_error(403, "forbidden"); }
HttpReply invalid_account_id() { return json_error(400, "invalid_account_id"); }

int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t unix_now_us() { return ledger::unix_now_us(); }

ReplyOr<std::string> client_idempotency_key(const IncomingRequest& request) {
  if (!request.idempotency_key) return json_error(400, "idempotency_key_required");
  if (!auth::is_valid_idempotency_key(*request.idempotency_key)) {
    return json_error(400, "invalid_idempotency_key",
                      {{"max_length", static_cast<int64_t>(auth::kIdempotencyKeyLengthMax)}});
  }
  return std::string(kClientKeyPrefix) + *request.idempotency_key;
}

ReplyOr<std::optional<std::string>> optional_client_idempotency_key(
    const IncomingRequest& request) {
  if (!request.idempotency_key) return std::optional<std::string>();
  auto key = client_idempotency_key(request);
  RETURN_IF_ERROR_REPLY(key);
  return std::optional<std::string>(std::move(std::get<std::string>(key)));
}

std::string implicit_idempotency_key(std::string_view route,
                                     std::initializer_list<std::string_view> parts) {
  // Each part with its length first, so that no two lists of parts hash alike.
  std::string joined;
  for (const std::string_view part : parts) {
    joined += std::to_string(part.size());
    joined += ':';
    joined += part;
  }
  return "implicit:" + std::string(route) + ":" + crypto::hex_encode(crypto::sha256(joined));
}

ReplyOr<std::string> credits_account(const Principal& principal, const rapidjson::Value& body) {
  // Read with a generous length so that a long id is reported as an invalid account id.
  auto named = optional_string(body, "account_id", 4 * auth::kAccountIdLengthMax);
  RETURN_IF_ERROR_REPLY(named);
  const auto& account_id = std::get<std::optional<std::string>>(named);
  if (account_id && !auth::is_valid_account_id(*account_id)) return invalid_account_id();
  if (principal.is_user()) {
    if (account_id && *account_id != principal.account_id) return forbidden();
    return principal.account_id;
  }
  if (!principal.has_scope(auth::kScopeReserve)) return forbidden();
  if (!account_id) return invalid_request("account_id", "required for service keys");
  return *account_id;
}

ReplyOr<int64_t> query_integer(const IncomingRequest& request, const std::string& name,
                               int64_t fallback, int64_t min, int64_t max) {
  const auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  const std::string& text = it->second;
  if (text.empty() || text.size() > 18) return invalid_request(name, "must be an integer");
  int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return invalid_request(name, "must be an integer");
    value = value * 10 + (c - '0');
  }
  if (value < min || value > max) return invalid_request(name, "out of range");
  return value;
}

ledger::EventMetadata command_metadata(const Principal& principal, bool admin_route,
                                       const IncomingRequest& request,
                                       std::string idempotency_key) {
  ledger::EventMetadata metadata;
  metadata.actor = principal.actor(admin_route);
  metadata.source = "http";
  metadata.correlation_id = request.request_id;
  metadata.idempotency_key = std::move(idempotency_key);
  return metadata;
}

}  // namespace http
