// JSON plumbing shared by the outgoing clients: building small request bodies, parsing
// provider responses defensively and turning provider error bodies into short messages.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "integrations/http_client.h"

namespace integrations {

// One field of a flat JSON object: a string or a boolean value.
struct JsonField {
  std::string name;
  std::string string_value;
  std::optional<bool> bool_value;  // When set, the field is a boolean.
};

// Serialises the fields as one JSON object, in order.
std::string json_object(const std::vector<JsonField>& fields);

// Parses `body` (validating UTF-8) into `document`. Returns "" on success, else a short
// description of the parse error.
std::string parse_json(std::string_view body, rapidjson::Document& document);

// "HTTP <status>: <message>" where the message is the provider's own error text when the
// body is JSON with one of "error", "message", "msg", "detail" (a string, or an object
// holding "message"), else the first 200 bytes of the body.
std::string describe_http_error(const HttpResponse& response);

// "Content-Type: application/json" and "Accept: application/json".
HttpHeaders json_headers();

// `base` without trailing slashes followed by `path` (which starts with '/').
std::string join_url(std::string_view base, std::string_view path);

// Rounds a score to one decimal place.
double round_score(double score);

// Shortest natural rendering of a number for messages ("1.7", "150", "-0.1").
std::string format_number(double value);

}  // namespace integrations
