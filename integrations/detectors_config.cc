// Strict parser for the detectors file.
#include "integrations/detectors_config.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdlib>
#include <fstream>
#include <set>
#include <span>
#include <sstream>

#include "unicode/json_text.h"

namespace integrations {
namespace {

constexpr std::array<std::pair<std::string_view, DetectorKind>, 7> kKinds = {{
    {"gptzero", DetectorKind::kGptzero},
    {"zerogpt", DetectorKind::kZerogpt},
    {"sapling", DetectorKind::kSapling},
    {"copyleaks", DetectorKind::kCopyleaks},
    {"writer", DetectorKind::kWriter},
    {"originality", DetectorKind::kOriginality},
    {"generic", DetectorKind::kGeneric},
}};

constexpr std::size_t kNameLengthMax = 64;
constexpr std::size_t kTextFieldMax = 4096;

// Reads typed fields of one JSON object, remembering the first error with its path.
class ObjectReader {
 public:
  ObjectReader(const rapidjson::Value& object, std::string path, std::string& error)
      : object_(object), path_(std::move(path)), error_(error) {
    assert(object.IsObject());
  }

  // Fails on any key not in `known` that does not start with '_' (free for comments).
  void reject_unknown_keys(std::span<const std::string_view> known,
                           const std::string& context = "") {
    for (auto member = object_.MemberBegin(); member != object_.MemberEnd(); ++member) {
      const std::string_view key(member->name.GetString(), member->name.GetStringLength());
      if (!key.empty() && key.front() == '_') continue;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail(std::string(key), "unknown field" + context);
      }
    }
  }

  void read_string(const char* key, std::string& out, bool required) {
    const rapidjson::Value* value = find(key, required);
    if (value == nullptr) return;
    if (!value->IsString()) return fail(key, "must be a string");
    out.assign(value->GetString(), value->GetStringLength());
    if (out.find_first_of("\r\n") != std::string::npos)
      return fail(key, "must not contain line breaks");
  }

  void read_bool(const char* key, bool& out) {
    const rapidjson::Value* value = find(key, false);
    if (value == nullptr) return;
    if (!value->IsBool()) return fail(key, "must be true or false");
    out = value->GetBool();
  }

  void read_int(const char* key, int64_t& out, int64_t min, int64_t max) {
    const rapidjson::Value* value = find(key, false);
    if (value == nullptr) return;
    if (!value->IsInt64() || value->GetInt64() < min || value->GetInt64() > max) {
      return fail(key, "must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
    }
    out = value->GetInt64();
  }

  void read_number(const char* key, double& out, double min, double max) {
    const rapidjson::Value* value = find(key, false);
    if (value == nullptr) return;
    if (!value->IsNumber() || value->GetDouble() < min || value->GetDouble() > max) {
      std::ostringstream range;
      range << "must be a number in " << min << ".." << max;
      return fail(key, range.str());
    }
    out = value->GetDouble();
  }

  const rapidjson::Value* find(const char* key, bool required) {
    const auto it = object_.FindMember(key);
    if (it == object_.MemberEnd()) {
      if (required) fail(key, "is required");
      return nullptr;
    }
    return &it->value;
  }

  void fail(const std::string& key, const std::string& message) {
    if (error_.empty()) error_ = path_ + (path_.empty() ? "" : ".") + key + ": " + message;
  }

 private:
  const rapidjson::Value& object_;
  std::string path_;
  std::string& error_;
};

bool is_http_url(std::string_view url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > kNameLengthMax) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool is_valid_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7F && c != ':';
  });
}

bool is_valid_environment_name(std::string_view name) {
  if (name.empty() || name.size() > kNameLengthMax || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// `key` names an environment variable holding a secret (so keys stay out of the file). A
// set, non-empty variable replaces `secret`; an unset one leaves the file's value.
void read_secret_from_environment(ObjectReader& reader, const char* key, std::string& secret) {
  std::string variable;
  reader.read_string(key, variable, false);
  if (variable.empty()) return;
  if (!is_valid_environment_name(variable)) {
    return reader.fail(key, "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
  }
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr || *value == '\0') return;
  secret = value;
  if (secret.find_first_of("\r\n") != std::string::npos) {
    reader.fail(key, "the variable's value must not contain line breaks");
  }
}

void check_url(ObjectReader& reader, const char* key, const std::string& url) {
  if (!url.empty() && !is_http_url(url)) reader.fail(key, "must start with http:// or https://");
}

void read_copyleaks_fields(ObjectReader& reader, DetectorConfig& detector) {
  reader.read_string("email", detector.email, false);
  reader.read_string("login_url", detector.login_url, false);
  reader.read_bool("sandbox", detector.sandbox);
  check_url(reader, "login_url", detector.login_url);
  if (detector.enabled && detector.email.empty()) reader.fail("email", "is required for copyleaks");
}

void read_generic_fields(ObjectReader& reader, DetectorConfig& detector) {
  reader.read_string("url", detector.url, true);
  reader.read_string("auth_header", detector.auth_header, false);
  reader.read_string("auth_value", detector.auth_value, false);
  read_secret_from_environment(reader, "auth_value_env", detector.auth_value);
  reader.read_string("text_field", detector.text_field, false);
  reader.read_string("score_pointer", detector.score_pointer, true);
  int64_t scale = detector.scale;
  reader.read_int("scale", scale, 1, 100);
  reader.read_bool("invert", detector.invert);
  if (scale != 1 && scale != 100) reader.fail("scale", "must be 1 or 100");
  detector.scale = static_cast<int>(scale);
  if (detector.url.empty() || !is_http_url(detector.url)) {
    reader.fail("url", "must start with http:// or https://");
  }
  if (!detector.auth_header.empty() && !is_valid_header_name(detector.auth_header)) {
    reader.fail("auth_header", "must be a valid HTTP header name");
  }
  if (detector.text_field.empty() || detector.text_field.size() > kTextFieldMax) {
    reader.fail("text_field", "must be a non-empty string");
  }
  const rapidjson::Pointer pointer(detector.score_pointer.c_str(), detector.score_pointer.size());
  if (detector.score_pointer.empty() || !pointer.IsValid()) {
    reader.fail("score_pointer", "must be a JSON pointer such as \"/ai_score\"");
  }
}

std::vector<std::string_view> known_keys(DetectorKind kind) {
  std::vector<std::string_view> keys = {"name", "kind", "enabled", "weight", "timeout_ms"};
  if (kind == DetectorKind::kGeneric) {
    keys.insert(keys.end(), {"url", "auth_header", "auth_value", "auth_value_env", "text_field",
                             "score_pointer", "scale", "invert"});
    return keys;
  }
  keys.insert(keys.end(), {"base_url", "api_key", "api_key_env"});
  if (kind == DetectorKind::kCopyleaks) keys.insert(keys.end(), {"email", "login_url", "sandbox"});
  return keys;
}

DetectorConfig read_detector(const rapidjson::Value& object, const std::string& path,
                             std::string& error) {
  DetectorConfig detector;
  ObjectReader reader(object, path, error);
  reader.read_string("name", detector.name, true);
  std::string kind_name;
  reader.read_string("kind", kind_name, true);
  if (!error.empty()) return detector;
  if (!is_valid_name(detector.name) || detector.name == kInternalDetectorName) {
    reader.fail("name", "must match [a-z0-9_-]{1,64} and not be \"internal\"");
  }
  const std::optional<DetectorKind> kind = parse_detector_kind(kind_name);
  if (!kind.has_value()) {
    reader.fail("kind",
                "must be one of gptzero, zerogpt, sapling, copyleaks, writer, "
                "originality, generic");
    return detector;
  }
  detector.kind = *kind;
  reader.reject_unknown_keys(known_keys(detector.kind),
                             " for kind " + std::string(detector_kind_name(detector.kind)));
  reader.read_bool("enabled", detector.enabled);
  reader.read_number("weight", detector.weight, 0.0, 100.0);
  reader.read_int("timeout_ms", detector.timeout_ms, 1, kDetectorTimeoutMsMax);
  if (detector.kind == DetectorKind::kGeneric) {
    read_generic_fields(reader, detector);
    return detector;
  }
  reader.read_string("base_url", detector.base_url, false);
  reader.read_string("api_key", detector.api_key, false);
  read_secret_from_environment(reader, "api_key_env", detector.api_key);
  check_url(reader, "base_url", detector.base_url);
  if (detector.enabled && detector.api_key.empty()) {
    reader.fail("api_key", "is required when enabled (directly or through a set api_key_env)");
  }
  if (detector.kind == DetectorKind::kCopyleaks) read_copyleaks_fields(reader, detector);
  return detector;
}

void read_verdict(const rapidjson::Value& root, DetectorsConfig& config, std::string& error) {
  const auto it = root.FindMember("verdict");
  if (it == root.MemberEnd()) return;
  if (!it->value.IsObject()) {
    error = "verdict: must be an object";
    return;
  }
  ObjectReader reader(it->value, "verdict", error);
  static constexpr std::string_view kKeys[] = {"likely_human_below", "likely_ai_from"};
  reader.reject_unknown_keys(kKeys);
  reader.read_number("likely_human_below", config.verdict.likely_human_below, 0.0, 100.0);
  reader.read_number("likely_ai_from", config.verdict.likely_ai_from, 0.0, 100.0);
  if (config.verdict.likely_human_below > config.verdict.likely_ai_from) {
    reader.fail("likely_human_below", "must not exceed likely_ai_from");
  }
}

void read_detectors(const rapidjson::Value& root, DetectorsConfig& config, std::string& error) {
  const auto it = root.FindMember("detectors");
  if (it == root.MemberEnd()) return;
  if (!it->value.IsArray() || it->value.Size() > kDetectorsMax) {
    error = "detectors: must be an array of at most " + std::to_string(kDetectorsMax) + " objects";
    return;
  }
  std::set<std::string, std::less<>> names;
  for (rapidjson::SizeType i = 0; i < it->value.Size() && error.empty(); ++i) {
    const std::string path = "detectors[" + std::to_string(i) + "]";
    if (!it->value[i].IsObject()) {
      error = path + ": must be an object";
      return;
    }
    DetectorConfig detector = read_detector(it->value[i], path, error);
    if (error.empty() && !names.insert(detector.name).second) {
      error = path + ".name: duplicate name \"" + detector.name + "\"";
    }
    config.detectors.push_back(std::move(detector));
  }
}

}  // namespace

std::string_view detector_kind_name(DetectorKind kind) {
  for (const auto& [name, value] : kKinds) {
    if (value == kind) return name;
  }
  assert(false && "every kind has a name");
  return "generic";
}

std::optional<DetectorKind> parse_detector_kind(std::string_view name) {
  for (const auto& [kind_name, kind] : kKinds) {
    if (kind_name == name) return kind;
  }
  return std::nullopt;
}

const DetectorConfig* DetectorsConfig::find(std::string_view name) const {
  for (const DetectorConfig& detector : detectors) {
    if (detector.name == name) return &detector;
  }
  return nullptr;
}

std::map<std::string, double, std::less<>> DetectorsConfig::weights() const {
  std::map<std::string, double, std::less<>> result;
  for (const DetectorConfig& detector : detectors) result.emplace(detector.name, detector.weight);
  result.emplace(std::string(kInternalDetectorName), internal_weight);
  return result;
}

DetectorsConfigResult parse_detectors_config(std::string_view json) {
  rapidjson::Document root;
  root.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  if (root.HasParseError()) {
    return {std::nullopt, std::string("invalid JSON: ") +
                              rapidjson::GetParseError_En(root.GetParseError()) + " at offset " +
                              std::to_string(root.GetErrorOffset())};
  }
  // Keys and values reach error messages, logs and outgoing requests.
  if (!unicode::json_strings_are_storable(root)) {
    return {std::nullopt, "invalid JSON: a string holds a lone surrogate escape or a NUL"};
  }
  if (!root.IsObject()) return {std::nullopt, "the detectors file must hold a JSON object"};

  DetectorsConfig config;
  std::string error;
  ObjectReader reader(root, "", error);
  static constexpr std::string_view kKeys[] = {"overall_timeout_ms", "verdict", "internal_weight",
                                               "detectors"};
  reader.reject_unknown_keys(kKeys);
  reader.read_int("overall_timeout_ms", config.overall_timeout_ms, 1, kDetectorTimeoutMsMax);
  reader.read_number("internal_weight", config.internal_weight, 0.0, 100.0);
  if (error.empty()) read_verdict(root, config, error);
  if (error.empty()) read_detectors(root, config, error);
  if (!error.empty()) return {std::nullopt, error};
  return {std::move(config), ""};
}

DetectorsConfigResult load_detectors_config(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return {std::nullopt, path + ": cannot open the detectors file"};
  std::string text(kDetectorsFileBytesMax + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > kDetectorsFileBytesMax) {
    return {std::nullopt,
            path + ": larger than " + std::to_string(kDetectorsFileBytesMax) + " bytes"};
  }
  DetectorsConfigResult result = parse_detectors_config(text);
  if (!result.ok()) result.error = path + ": " + result.error;
  return result;
}

}  // namespace integrations
