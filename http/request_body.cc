// Request body validation with RapidJSON (iterative parser: no recursion on hostile input).
#include "http/request_body.h"

#include <algorithm>
#include <cassert>
#include <set>

#include "ledger/commands.h"
#include "ledger/json_fields.h"
#include "unicode/json_text.h"
#include "unicode/utf8.h"

namespace http {
namespace {

// An unknown member name is echoed in the error, cut to this many bytes (never mid-character).
constexpr std::size_t kUnknownFieldEchoBytesMax = 64;

HttpReply invalid_json(std::string_view message) {
  return json_error(400, "invalid_json", {{"message", message}});
}

const rapidjson::Value* find_field(const rapidjson::Value& object, std::string_view field) {
  assert(object.IsObject());
  const auto member =
      object.FindMember(rapidjson::Value(rapidjson::StringRef(field.data(), field.size())));
  return member == object.MemberEnd() ? nullptr : &member->value;
}

}  // namespace

HttpReply invalid_request(std::string_view field, std::string_view message) {
  return json_error(400, "invalid_request", {{"field", field}, {"message", message}});
}

ReplyOr<rapidjson::Document> parse_json_object(
    std::string_view body, bool allow_empty,
    std::initializer_list<std::string_view> allowed_fields) {
  rapidjson::Document document;
  if (body.empty()) {
    if (!allow_empty) return invalid_json("a JSON object body is required");
    document.SetObject();
    return document;
  }
  if (ledger::json::nesting_exceeds(body, kJsonDepthMax)) return invalid_json("nested too deeply");
  document.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
      body.data(), body.size());
  if (document.HasParseError()) return invalid_json("malformed JSON or invalid UTF-8");
  if (!document.IsObject()) return invalid_json("the body must be a JSON object");
  if (!unicode::json_strings_are_storable(document)) {
    return invalid_json("a string holds invalid UTF-8 (e.g. a lone surrogate escape) or NUL");
  }
  std::set<std::string_view> seen;
  for (const auto& member : document.GetObject()) {
    const std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (!seen.insert(name).second) return invalid_json("duplicate member");
    if (std::find(allowed_fields.begin(), allowed_fields.end(), name) == allowed_fields.end()) {
      return json_error(
          400, "invalid_request",
          {{"field", unicode::truncate_utf8(name, kUnknownFieldEchoBytesMax)},
           {"message", "unknown field"}});
    }
  }
  return document;
}

ReplyOr<int64_t> required_amount(const rapidjson::Value& object, std::string_view field) {
  const rapidjson::Value* value = find_field(object, field);
  if (value == nullptr) return invalid_request(field, "required");
  if (!value->IsNumber()) return invalid_request(field, "must be an integer");
  if (!value->IsInt64() || value->GetInt64() <= 0 || value->GetInt64() > ledger::kAmountMax) {
    return json_error(400, "invalid_amount",
                      {{"field", field}, {"message", "must be an integer in 1..1000000000000"}});
  }
  return value->GetInt64();
}

ReplyOr<std::optional<int64_t>> optional_integer(const rapidjson::Value& object,
                                                 std::string_view field, int64_t min, int64_t max) {
  assert(min <= max);
  const rapidjson::Value* value = find_field(object, field);
  if (value == nullptr) return std::optional<int64_t>();
  if (!value->IsInt64() || value->GetInt64() < min || value->GetInt64() > max) {
    return invalid_request(field, "must be an integer in range");
  }
  return std::optional<int64_t>(value->GetInt64());
}

ReplyOr<std::string> required_string(const rapidjson::Value& object, std::string_view field,
                                     std::size_t length_max) {
  const rapidjson::Value* value = find_field(object, field);
  if (value == nullptr) return invalid_request(field, "required");
  if (!value->IsString()) return invalid_request(field, "must be a string");
  if (value->GetStringLength() == 0 || value->GetStringLength() > length_max) {
    return invalid_request(field, "length out of range");
  }
  std::string text(value->GetString(), value->GetStringLength());
  // Control characters (NUL above all: PostgreSQL text cannot hold it) are never meaningful
  // in names, reasons or references.
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return invalid_request(field, "must not contain control characters");
    }
  }
  return text;
}

ReplyOr<std::optional<std::string>> optional_string(const rapidjson::Value& object,
                                                    std::string_view field,
                                                    std::size_t length_max) {
  if (find_field(object, field) == nullptr) return std::optional<std::string>();
  auto text = required_string(object, field, length_max);
  RETURN_IF_ERROR_REPLY(text);
  return std::optional<std::string>(std::move(std::get<std::string>(text)));
}

}  // namespace http
