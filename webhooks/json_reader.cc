// Bounded JSON parsing and typed field reads for webhook bodies (see json_reader.h).
#include "webhooks/json_reader.h"

#include "ledger/json_fields.h"
#include "unicode/json_text.h"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <cassert>
#include <utility>

namespace webhooks {
namespace {

// Parses a "[N]" index starting at path[pos]; returns the index and moves pos past ']'.
std::size_t parse_index(std::string_view path, std::size_t& pos) {
  assert(path[pos] == '[');
  const std::size_t close = path.find(']', pos);
  assert(close != std::string_view::npos && close > pos + 1);
  std::size_t index = 0;
  for (std::size_t i = pos + 1; i < close; ++i) {
    assert(path[i] >= '0' && path[i] <= '9');
    index = index * 10 + static_cast<std::size_t>(path[i] - '0');
  }
  pos = close + 1;
  return index;
}

}  // namespace

std::string parse_bounded_json(std::string_view body, rapidjson::Document& document) {
  if (body.size() > kWebhookBodyBytesMax) {
    return "body exceeds " + std::to_string(kWebhookBodyBytesMax) + " bytes";
  }
  if (ledger::json::nesting_exceeds(body, static_cast<std::size_t>(kWebhookJsonDepthMax))) {
    return "JSON nests deeper than " + std::to_string(kWebhookJsonDepthMax) + " levels";
  }
  constexpr unsigned kFlags =
      rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
  document.Parse<kFlags>(body.data(), body.size());
  if (document.HasParseError()) {
    return std::string("invalid JSON: ") + rapidjson::GetParseError_En(document.GetParseError()) +
           " at offset " + std::to_string(document.GetErrorOffset());
  }
  if (!unicode::json_strings_are_storable(document)) {
    return "invalid JSON: a string holds a lone surrogate escape or NUL";
  }
  return {};
}

JsonFieldReader::JsonFieldReader(const rapidjson::Value& object, std::string path_prefix, Mode mode)
    : object_(object), path_prefix_(std::move(path_prefix)), mode_(mode) {}

std::string JsonFieldReader::qualified(std::string_view path) const {
  std::string full = path_prefix_;
  if (!full.empty() && !path.empty()) full += '.';
  full.append(path);
  return full;
}

void JsonFieldReader::record_error(std::string_view path, std::string_view problem) {
  if (mode_ == Mode::kLenient || !error_.empty()) return;
  error_ = qualified(path);
  error_ += ": ";
  error_.append(problem);
}

const rapidjson::Value* JsonFieldReader::find(std::string_view path) {
  const rapidjson::Value* current = &object_;
  std::size_t pos = 0;
  while (pos < path.size()) {
    const std::size_t key_end = std::min(path.find_first_of(".[", pos), path.size());
    if (key_end > pos) {
      if (!current->IsObject()) {
        record_error(path.substr(0, pos == 0 ? 0 : pos - 1), "expected an object");
        return nullptr;
      }
      const rapidjson::Value key(rapidjson::StringRef(path.data() + pos, key_end - pos));
      const auto member = current->FindMember(key);
      if (member == current->MemberEnd() || member->value.IsNull()) return nullptr;
      current = &member->value;
    }
    pos = key_end;
    while (pos < path.size() && path[pos] == '[') {
      const std::string_view array_path = path.substr(0, pos);
      const std::size_t index = parse_index(path, pos);
      if (!current->IsArray()) {
        record_error(array_path, "expected an array");
        return nullptr;
      }
      if (index >= current->Size() ||
          (*current)[static_cast<rapidjson::SizeType>(index)].IsNull()) {
        return nullptr;
      }
      current = &(*current)[static_cast<rapidjson::SizeType>(index)];
    }
    if (pos < path.size() && path[pos] == '.') ++pos;
  }
  return current;
}

const rapidjson::Value* JsonFieldReader::object(std::string_view path) {
  const rapidjson::Value* value = find(path);
  if (value == nullptr) return nullptr;
  if (!value->IsObject()) {
    record_error(path, "expected an object");
    return nullptr;
  }
  return value;
}

std::string JsonFieldReader::string(std::string_view path) {
  const rapidjson::Value* value = find(path);
  if (value == nullptr) return {};
  if (!value->IsString()) {
    record_error(path, "expected a string");
    return {};
  }
  return std::string(value->GetString(), value->GetStringLength());
}

std::string JsonFieldReader::id(std::string_view path) {
  const rapidjson::Value* value = find(path);
  if (value == nullptr) return {};
  if (value->IsString()) return std::string(value->GetString(), value->GetStringLength());
  if (!value->IsObject()) {
    record_error(path, "expected a string id or an object with an id");
    return {};
  }
  JsonFieldReader expanded(*value, qualified(path), mode_);
  std::string expanded_id = expanded.required_string("id");
  if (error_.empty()) error_ = expanded.error();
  return expanded_id;
}

std::string JsonFieldReader::id_text(std::string_view path) {
  const rapidjson::Value* value = find(path);
  if (value == nullptr) return {};
  if (value->IsString()) return std::string(value->GetString(), value->GetStringLength());
  if (value->IsInt64()) return std::to_string(value->GetInt64());
  if (value->IsUint64()) return std::to_string(value->GetUint64());
  record_error(path, "expected a string or an integer");
  return {};
}

std::optional<int64_t> JsonFieldReader::int64(std::string_view path) {
  const rapidjson::Value* value = find(path);
  if (value == nullptr) return std::nullopt;
  if (!value->IsInt64()) {
    record_error(path, "expected an integer in the int64 range");
    return std::nullopt;
  }
  return value->GetInt64();
}

bool JsonFieldReader::boolean(std::string_view path) {
  const rapidjson::Value* value = find(path);
  if (value == nullptr) return false;
  if (!value->IsBool()) {
    record_error(path, "expected a boolean");
    return false;
  }
  return value->GetBool();
}

std::string JsonFieldReader::required_string(std::string_view path) {
  if (find(path) == nullptr) {
    record_error(path, "missing");
    return {};
  }
  return string(path);
}

std::optional<int64_t> JsonFieldReader::required_int64(std::string_view path) {
  if (find(path) == nullptr) {
    record_error(path, "missing");
    return std::nullopt;
  }
  return int64(path);
}

std::string first_non_empty(std::initializer_list<std::string> candidates) {
  for (const std::string& candidate : candidates) {
    if (!candidate.empty()) return candidate;
  }
  return {};
}

}  // namespace webhooks
