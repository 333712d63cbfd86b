// The reply of one HTTP request as a value (status, JSON body, the few headers we set),
// the JSON body writer, and the one JSON error helper: every error body in ledgerd is
// `{"error":"<code>", ...details}` built here.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace http {

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  int64_t retry_after_s = 0;  // > 0: a Retry-After header is sent
  std::string allow;          // non-empty on 405: the Allow header
  bool replayed = false;      // an idempotent replay: Idempotent-Replayed: true
  // Further headers (names are string literals), e.g. the console's security headers.
  std::vector<std::pair<const char*, std::string>> headers;
};

// A value or the error reply that ends the request.
template <typename T>
using ReplyOr = std::variant<T, HttpReply>;

// Ends the calling handler with the error reply a ReplyOr holds, if it holds one:
//   auto body = parse_json_object(request.body, false, {"amount"});
//   RETURN_IF_ERROR_REPLY(body);
//   const rapidjson::Document& fields = std::get<rapidjson::Document>(body);
#define RETURN_IF_ERROR_REPLY(reply_or)                                     \
  if (auto* returned_reply = std::get_if<::http::HttpReply>(&(reply_or))) { \
    return std::move(*returned_reply);                                      \
  }

// Builds one flat JSON object; values are escaped, raw JSON values are inserted verbatim.
class JsonObject {
 public:
  JsonObject();
  ~JsonObject();
  JsonObject(JsonObject&&) noexcept;
  JsonObject& operator=(JsonObject&&) noexcept;

  JsonObject& field(std::string_view name, int64_t value);
  JsonObject& field(std::string_view name, std::string_view value);
  JsonObject& field(std::string_view name, const char* value) {
    return field(name, std::string_view(value));
  }
  JsonObject& field(std::string_view name, bool value);
  JsonObject& null_field(std::string_view name);
  // Precondition: `json` is one valid JSON value (e.g. an event payload read from the store).
  JsonObject& raw_field(std::string_view name, std::string_view json);
  // Closes the object and returns its text; the builder must not be used afterwards.
  std::string finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

using JsonDetail = std::pair<std::string_view, std::variant<int64_t, std::string_view>>;

// `{"error": code, details...}` with the given status. `code` is a fixed snake_case word;
// details never carry internals (exception texts, SQL, secrets).
HttpReply json_error(int status, std::string_view code,
                     std::initializer_list<JsonDetail> details = {});

// 503 service_unavailable with retry_after (body field and Retry-After header).
HttpReply service_unavailable(int64_t retry_after_s = 1);

// 429 rate_limit_exceeded with retry_after (body field and Retry-After header): every limit
// a client can run into (per-account rate and concurrency, failed authentications).
HttpReply rate_limit_exceeded(int64_t retry_after_s);

// A successful JSON reply.
HttpReply json_reply(int status, std::string body);

}  // namespace http
