// Fuzz target: the strict JSON request-body reader of every POST route (http/request_body.h).
//
// Input: the raw request body.
//
// Properties:
// - allow_empty changes the outcome of the empty body only;
// - every error is a 400 whose body is a valid UTF-8 JSON object with a string "error";
// - an accepted body is an object with only allowed, distinct member names;
// - an accepted amount is an integer in 1..kAmountMax, an accepted ttl is in range;
// - an accepted string is 1..length_max bytes of valid UTF-8 without control characters
//   (NUL included);
// - an accepted body serialized again is accepted again with the same field values (unless
//   it holds a number that overflowed to infinity, which JSON cannot express).
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http/request_body.h"
#include "ledger/commands.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr int64_t kTtlMaxS = 86'400;
constexpr std::size_t kReferenceLengthMax = 64;

http::ReplyOr<rapidjson::Document> parse(std::string_view body, bool allow_empty) {
  return http::parse_json_object(body, allow_empty,
                                 {"amount", "ttl_seconds", "feature", "reason", "reference"});
}

void check_error_reply(const http::HttpReply& reply) {
  FUZZ_REQUIRE(reply.status == 400);
  FUZZ_REQUIRE(fuzz::is_valid_utf8(reply.body));
  rapidjson::Document body;
  body.Parse<rapidjson::kParseValidateEncodingFlag>(reply.body.data(), reply.body.size());
  FUZZ_REQUIRE(!body.HasParseError() && body.IsObject());
  FUZZ_REQUIRE(body.HasMember("error") && body["error"].IsString());
}

bool is_acceptable_text(std::string_view text, std::size_t length_max) {
  if (text.empty() || text.size() > length_max || !fuzz::is_valid_utf8(text)) return false;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// The values the routes would read from an accepted body; each is the value or the error.
struct Fields {
  http::ReplyOr<int64_t> amount;
  http::ReplyOr<std::optional<int64_t>> ttl_s;
  http::ReplyOr<std::string> feature;
  http::ReplyOr<std::optional<std::string>> reason;
  http::ReplyOr<std::optional<std::string>> reference;
};

Fields read_fields(const rapidjson::Document& document) {
  return {http::required_amount(document, "amount"),
          http::optional_integer(document, "ttl_seconds", 1, kTtlMaxS),
          http::required_string(document, "feature"), http::optional_string(document, "reason"),
          http::optional_string(document, "reference", kReferenceLengthMax)};
}

void check_optional_text(const http::ReplyOr<std::optional<std::string>>& field,
                         std::size_t length_max) {
  if (const auto* error = std::get_if<http::HttpReply>(&field)) return check_error_reply(*error);
  const auto& text = std::get<std::optional<std::string>>(field);
  FUZZ_REQUIRE(!text || is_acceptable_text(*text, length_max));
}

void check_fields(const Fields& fields) {
  if (const auto* error = std::get_if<http::HttpReply>(&fields.amount)) {
    check_error_reply(*error);
  } else {
    const int64_t amount = std::get<int64_t>(fields.amount);
    FUZZ_REQUIRE(amount >= 1 && amount <= ledger::kAmountMax);
  }
  if (const auto* error = std::get_if<http::HttpReply>(&fields.ttl_s)) {
    check_error_reply(*error);
  } else {
    const auto& ttl_s = std::get<std::optional<int64_t>>(fields.ttl_s);
    FUZZ_REQUIRE(!ttl_s || (*ttl_s >= 1 && *ttl_s <= kTtlMaxS));
  }
  if (const auto* error = std::get_if<http::HttpReply>(&fields.feature)) {
    check_error_reply(*error);
  } else {
    FUZZ_REQUIRE(
        is_acceptable_text(std::get<std::string>(fields.feature), http::kTextFieldLengthMax));
  }
  check_optional_text(fields.reason, http::kTextFieldLengthMax);
  check_optional_text(fields.reference, kReferenceLengthMax);
}

// The same accepted values, or byte-identical error replies.
bool same_fields(const Fields& a, const Fields& b) {
  const auto same = [](const auto& x, const auto& y) {
    if (x.index() != y.index()) return false;
    if (x.index() == 1) return std::get<1>(x).body == std::get<1>(y).body;
    return std::get<0>(x) == std::get<0>(y);
  };
  return same(a.amount, b.amount) && same(a.ttl_s, b.ttl_s) && same(a.feature, b.feature) &&
         same(a.reason, b.reason) && same(a.reference, b.reference);
}

// The document as JSON text, or nullopt when it holds a number JSON cannot express:
// RapidJSON 1.1.0 reads a number that overflows a double through its mantissa (such as
// 92233720368547e308) as infinity instead of refusing it as too big.
std::optional<std::string> serialize(const rapidjson::Document& document) {
  bool written = false;
  std::string text =
      fuzz::write_json([&](ledger::json::Writer& writer) { written = document.Accept(writer); });
  if (!written) return std::nullopt;
  return text;
}

void check_accepted(const rapidjson::Document& document) {
  FUZZ_REQUIRE(document.IsObject());
  const Fields fields = read_fields(document);
  check_fields(fields);
  const std::optional<std::string> again = serialize(document);
  if (!again) return;
  auto reparsed = parse(*again, false);
  FUZZ_REQUIRE(std::holds_alternative<rapidjson::Document>(reparsed));
  FUZZ_REQUIRE(same_fields(fields, read_fields(std::get<rapidjson::Document>(reparsed))));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::as_text(data, size);
  auto lenient = parse(body, true);
  auto strict = parse(body, false);
  if (!body.empty()) FUZZ_REQUIRE(lenient.index() == strict.index());
  if (auto* error = std::get_if<http::HttpReply>(&strict)) check_error_reply(*error);
  if (auto* error = std::get_if<http::HttpReply>(&lenient)) {
    check_error_reply(*error);
    return 0;
  }
  check_accepted(std::get<rapidjson::Document>(lenient));
  return 0;
}
