// Rules shared by the routes of LedgerService: who may act on which account, the
// Idempotency-Key header, query integers, and the metadata every submitted command carries.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "http/auth.h"
#include "http/json_reply.h"
#include "http/service.h"
#include "ledger/events.h"

namespace http {

// Client keys live in their own namespace so they never collide with internal keys.
inline constexpr std::string_view kClientKeyPrefix = "http:";

HttpReply unauthorized();  // 401 {"error":"unauthorized"}
HttpReply forbidden();     // 403 {"error":"forbidden"}
HttpReply invalid_account_id();

int64_t unix_now_s();
int64_t unix_now_us();

// The ledger idempotency key of the request ("http:" + header): 400
// idempotency_key_required when absent, 400 invalid_idempotency_key when malformed.
ReplyOr<std::string> client_idempotency_key(const IncomingRequest& request);
// For writes whose Idempotency-Key is optional (capture, release, refund): the ledger key of
// the header as above, or nullopt when the request has none.
ReplyOr<std::optional<std::string>> optional_client_idempotency_key(const IncomingRequest& request);
// The ledger key of such a write sent without the header: "implicit:<route>:" + the SHA-256
// of `parts` (what the request asks for: the reservation and amount of a capture, say). The
// same request sent again is then the same command and gets the first outcome; a request
// that asks for something else is a command of its own. Client keys ("http:...") never
// collide with it. The command's refusals are not recorded under it
// (ledger::Command::record_refusals): the same request sent after a refusal is decided again.
std::string implicit_idempotency_key(std::string_view route,
                                     std::initializer_list<std::string_view> parts);

// The account a credits route acts on: a user's own (naming another account is 403); an
// API key needs scope `reserve` (else 403) and must name `account_id` in the body (else 400).
ReplyOr<std::string> credits_account(const Principal& principal, const rapidjson::Value& body);

// Query parameter `name` as a decimal int64 in [min, max]; `fallback` when absent.
ReplyOr<int64_t> query_integer(const IncomingRequest& request, const std::string& name,
                               int64_t fallback, int64_t min, int64_t max);

ledger::EventMetadata command_metadata(const Principal& principal, bool admin_route,
                                       const IncomingRequest& request, std::string idempotency_key);

}  // namespace http
