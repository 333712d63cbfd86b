// JSON helpers for outgoing clients.
#include "integrations/provider_json.h"

#include "unicode/json_text.h"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cassert>
#include <cmath>
#include <sstream>

namespace integrations {
namespace {

constexpr std::size_t kErrorExcerptBytes = 200;

std::optional<std::string> provider_message(const rapidjson::Value& root) {
  static constexpr const char* kFields[] = {"error", "message", "msg", "detail"};
  if (!root.IsObject()) return std::nullopt;
  for (const char* field : kFields) {
    const auto it = root.FindMember(field);
    if (it == root.MemberEnd()) continue;
    if (it->value.IsString())
      return std::string(it->value.GetString(), it->value.GetStringLength());
    if (it->value.IsObject()) {
      const auto nested = it->value.FindMember("message");
      if (nested != it->value.MemberEnd() && nested->value.IsString()) {
        return std::string(nested->value.GetString(), nested->value.GetStringLength());
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::string json_object(const std::vector<JsonField>& fields) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const JsonField& field : fields) {
    writer.Key(field.name.data(), static_cast<rapidjson::SizeType>(field.name.size()));
    if (field.bool_value.has_value()) {
      writer.Bool(*field.bool_value);
    } else {
      writer.String(field.string_value.data(),
                    static_cast<rapidjson::SizeType>(field.string_value.size()));
    }
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string parse_json(std::string_view body, rapidjson::Document& document) {
  document.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (!document.HasParseError()) {
    if (unicode::json_strings_are_storable(document)) return "";
    return "invalid JSON (a string holds a lone surrogate escape or NUL)";
  }
  return std::string("invalid JSON (") + rapidjson::GetParseError_En(document.GetParseError()) +
         " at offset " + std::to_string(document.GetErrorOffset()) + ")";
}

std::string describe_http_error(const HttpResponse& response) {
  assert(response.ok());
  std::string message;
  rapidjson::Document document;
  if (parse_json(response.body, document).empty())
    message = provider_message(document).value_or("");
  if (message.empty()) message = response.body.substr(0, kErrorExcerptBytes);
  message = unicode::scrub_utf8(unicode::truncate_utf8(message, kErrorExcerptBytes));
  return "HTTP " + std::to_string(response.status) + (message.empty() ? "" : ": " + message);
}

HttpHeaders json_headers() {
  return {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
}

std::string join_url(std::string_view base, std::string_view path) {
  assert(!path.empty() && path.front() == '/');
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base) + std::string(path);
}

double round_score(double score) { return std::round(score * 10.0) / 10.0; }

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace integrations
