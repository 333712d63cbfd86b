// Strict parsing of JSON request bodies: valid UTF-8, bounded nesting, a top-level object
// without duplicate or unknown members, and typed field readers whose failures are the
// 400 replies of the contract (invalid_json, invalid_request, invalid_amount).
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "http/json_reply.h"

namespace http {

inline constexpr std::size_t kJsonDepthMax = 8;
inline constexpr std::size_t kTextFieldLengthMax = 256;

// Parses `body` as one JSON object whose member names are all in `allowed_fields`.
// An empty body is an empty object when `allow_empty`. Errors: 400 invalid_json
// (syntax, encoding, nesting deeper than kJsonDepthMax, not an object, duplicate member)
// or 400 invalid_request {field} for an unknown member.
ReplyOr<rapidjson::Document> parse_json_object(
    std::string_view body, bool allow_empty,
    std::initializer_list<std::string_view> allowed_fields);

// A credit amount: a JSON integer in 1..ledger::kAmountMax. Missing or not a number:
// 400 invalid_request {field}; any other number (0, negative, fraction, 2^63): 400
// invalid_amount {field}.
ReplyOr<int64_t> required_amount(const rapidjson::Value& object, std::string_view field);

// An optional JSON integer in [min, max]; out of range or wrong type: 400 invalid_request.
ReplyOr<std::optional<int64_t>> optional_integer(const rapidjson::Value& object,
                                                 std::string_view field, int64_t min, int64_t max);

// A JSON string of 1..length_max bytes without control characters; missing, empty, too
// long, not a string or holding a control character: 400 invalid_request {field}.
ReplyOr<std::string> required_string(const rapidjson::Value& object, std::string_view field,
                                     std::size_t length_max = kTextFieldLengthMax);
// As required_string, but absence is nullopt.
ReplyOr<std::optional<std::string>> optional_string(const rapidjson::Value& object,
                                                    std::string_view field,
                                                    std::size_t length_max = kTextFieldLengthMax);

// 400 invalid_request {field, message}.
HttpReply invalid_request(std::string_view field, std::string_view message);

}  // namespace http
