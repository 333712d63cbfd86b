// Request builders and response parsers, one pair per provider kind.
#include "integrations/detector_adapters.h"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <cassert>

#include "unicode/utf8.h"
#include "crypto/digest.h"
#include "integrations/provider_json.h"

namespace integrations {
namespace {

constexpr int64_t kCopyleaksCharsMin = 255;
constexpr int64_t kCopyleaksCharsMax = 25'000;
constexpr int64_t kWriterCharsMin = 350;
constexpr long kConnectTimeoutMsMax = 3'000;

std::string base_or(const DetectorConfig& detector, std::string_view fallback) {
  return detector.base_url.empty() ? std::string(fallback) : detector.base_url;
}

HttpRequest json_post(std::string url, std::string body, long timeout_ms) {
  HttpRequest request;
  request.method = "POST";
  request.url = std::move(url);
  request.headers = json_headers();
  request.body = std::move(body);
  request.timeout_ms = timeout_ms;
  request.connect_timeout_ms = std::min(timeout_ms, kConnectTimeoutMsMax);
  return request;
}

HttpRequest build_provider_request(const DetectorConfig& detector, std::string_view text,
                                   long timeout_ms, std::string_view copyleaks_token) {
  const std::string body_text(text);
  switch (detector.kind) {
    case DetectorKind::kGptzero: {
      HttpRequest request =
          json_post(join_url(base_or(detector, kGptzeroDefaultBase), "/v2/predict/text"),
                    json_object({{"document", body_text, {}}}), timeout_ms);
      request.headers.emplace_back("x-api-key", detector.api_key);
      return request;
    }
    case DetectorKind::kZerogpt: {
      HttpRequest request =
          json_post(join_url(base_or(detector, kZerogptDefaultBase), "/api/detect/detectText"),
                    json_object({{"input_text", body_text, {}}}), timeout_ms);
      request.headers.emplace_back("ApiKey", detector.api_key);
      return request;
    }
    case DetectorKind::kSapling:
      return json_post(join_url(base_or(detector, kSaplingDefaultBase), "/api/v1/aidetect"),
                       json_object({{"key", detector.api_key, {}}, {"text", body_text, {}}}),
                       timeout_ms);
    case DetectorKind::kCopyleaks: {
      assert(!copyleaks_token.empty());
      const std::string path = "/v2/writer-detector/" + crypto::uuid_v4() + "/check";
      HttpRequest request = json_post(
          join_url(base_or(detector, kCopyleaksDefaultBase), path),
          json_object({{"text", body_text, {}}, {"sandbox", "", detector.sandbox}}), timeout_ms);
      request.headers.push_back(bearer_header(copyleaks_token));
      return request;
    }
    case DetectorKind::kWriter: {
      HttpRequest request =
          json_post(join_url(base_or(detector, kWriterDefaultBase), "/v1/tools/ai-detect"),
                    json_object({{"input", body_text, {}}}), timeout_ms);
      request.headers.push_back(bearer_header(detector.api_key));
      return request;
    }
    case DetectorKind::kOriginality: {
      HttpRequest request =
          json_post(join_url(base_or(detector, kOriginalityDefaultBase), "/api/v1/scan/ai"),
                    json_object({{"content", body_text, {}}}), timeout_ms);
      request.headers.emplace_back("X-OAI-API-KEY", detector.api_key);
      return request;
    }
    case DetectorKind::kGeneric: {
      HttpRequest request =
          json_post(detector.url, json_object({{detector.text_field, body_text, {}}}), timeout_ms);
      if (!detector.auth_header.empty()) {
        request.headers.emplace_back(detector.auth_header, detector.auth_value);
      }
      return request;
    }
  }
  assert(false && "unhandled detector kind");
  return {};
}

// --- Response parsing -------------------------------------------------------------

ParsedScore failure(std::string error) { return {std::nullopt, std::move(error)}; }

// The number at `pointer` (RFC 6901) within [0, max], scaled to 0..100.
ParsedScore score_at(const rapidjson::Value& root, std::string_view pointer, double max) {
  const rapidjson::Pointer json_pointer(pointer.data(), pointer.size());
  assert(json_pointer.IsValid());
  const rapidjson::Value* value = json_pointer.Get(root);
  if (value == nullptr) return failure("missing field " + std::string(pointer));
  if (!value->IsNumber()) return failure("field " + std::string(pointer) + " is not a number");
  const double raw = value->GetDouble();
  if (!(raw >= 0.0 && raw <= max)) {
    return failure("field " + std::string(pointer) + " = " + format_number(raw) +
                   " is outside 0.." + std::to_string(static_cast<int>(max)));
  }
  return {round_score(raw * 100.0 / max), ""};
}

bool has_number(const rapidjson::Value& root, const char* pointer) {
  const rapidjson::Value* value = rapidjson::Pointer(pointer).Get(root);
  return value != nullptr && value->IsNumber();
}

ParsedScore parse_gptzero(const rapidjson::Value& root) {
  if (has_number(root, "/documents/0/class_probabilities/ai")) {
    return score_at(root, "/documents/0/class_probabilities/ai", 1.0);
  }
  if (has_number(root, "/documents/0/completely_generated_prob")) {
    return score_at(root, "/documents/0/completely_generated_prob", 1.0);
  }
  return failure("missing documents[0].class_probabilities.ai and completely_generated_prob");
}

ParsedScore parse_zerogpt(const rapidjson::Value& root) {
  const rapidjson::Value* success = rapidjson::Pointer("/success").Get(root);
  if (success != nullptr && success->IsBool() && !success->GetBool()) {
    const rapidjson::Value* message = rapidjson::Pointer("/message").Get(root);
    const std::string detail =
        message != nullptr && message->IsString() ? message->GetString() : "";
    return failure("success=false" + (detail.empty() ? "" : ": " + detail));
  }
  return score_at(root, "/data/fakePercentage", 100.0);
}

ParsedScore parse_writer(const rapidjson::Value& response_root) {
  // The older organization endpoint answered a one-element array; accept both.
  const rapidjson::Value& root =
      response_root.IsArray() && !response_root.Empty() ? response_root[0] : response_root;
  const rapidjson::Value* label = rapidjson::Pointer("/label").Get(root);
  if (label == nullptr || !label->IsString()) return failure("missing label");
  const std::string_view label_text(label->GetString(), label->GetStringLength());
  if (label_text != "fake" && label_text != "real") {
    return failure("label \"" + std::string(label_text) + "\" is neither fake nor real");
  }
  ParsedScore parsed = score_at(root, "/score", 1.0);
  if (parsed.score.has_value() && label_text == "real")
    parsed.score = round_score(100.0 - *parsed.score);
  return parsed;
}

ParsedScore parse_generic(const DetectorConfig& detector, const rapidjson::Value& root) {
  ParsedScore parsed = score_at(root, detector.score_pointer, static_cast<double>(detector.scale));
  if (parsed.score.has_value() && detector.invert)
    parsed.score = round_score(100.0 - *parsed.score);
  return parsed;
}

ParsedScore parse_body(const DetectorConfig& detector, const rapidjson::Value& root) {
  switch (detector.kind) {
    case DetectorKind::kGptzero:
      return parse_gptzero(root);
    case DetectorKind::kZerogpt:
      return parse_zerogpt(root);
    case DetectorKind::kSapling:
      return score_at(root, "/score", 1.0);
    case DetectorKind::kCopyleaks:
      return score_at(root, "/summary/ai", 1.0);
    case DetectorKind::kWriter:
      return parse_writer(root);
    case DetectorKind::kOriginality:
      return score_at(root, "/score/ai", 1.0);
    case DetectorKind::kGeneric:
      return parse_generic(detector, root);
  }
  assert(false && "unhandled detector kind");
  return failure("unhandled detector kind");
}

}  // namespace

std::optional<std::string> length_skip_reason(const DetectorConfig& detector,
                                              std::string_view text) {
  const int64_t chars = unicode::count_code_points(text);
  if (detector.kind == DetectorKind::kCopyleaks &&
      (chars < kCopyleaksCharsMin || chars > kCopyleaksCharsMax)) {
    return "copyleaks accepts " + std::to_string(kCopyleaksCharsMin) + ".." +
           std::to_string(kCopyleaksCharsMax) + " characters, text has " + std::to_string(chars);
  }
  if (detector.kind == DetectorKind::kWriter && chars < kWriterCharsMin) {
    return "writer needs at least " + std::to_string(kWriterCharsMin) + " characters, text has " +
           std::to_string(chars);
  }
  return std::nullopt;
}

AdapterRequest build_detector_request(const DetectorConfig& detector, std::string_view text,
                                      long timeout_ms, std::string_view copyleaks_token) {
  assert(timeout_ms >= 1 && timeout_ms <= kTimeoutMsMax);
  if (std::optional<std::string> reason = length_skip_reason(detector, text)) {
    return {std::nullopt, std::move(*reason)};
  }
  return {build_provider_request(detector, text, timeout_ms, copyleaks_token), ""};
}

ParsedScore parse_detector_response(const DetectorConfig& detector, const HttpResponse& response) {
  assert(response.ok());
  if (response.status < 200 || response.status > 299) return failure(describe_http_error(response));
  rapidjson::Document root;
  if (std::string error = parse_json(response.body, root); !error.empty()) return failure(error);
  ParsedScore parsed = parse_body(detector, root);
  assert(parsed.score.has_value() != !parsed.error.empty());
  assert(!parsed.score.has_value() || (*parsed.score >= 0.0 && *parsed.score <= 100.0));
  return parsed;
}

HttpRequest build_copyleaks_login_request(const DetectorConfig& detector, long timeout_ms) {
  assert(detector.kind == DetectorKind::kCopyleaks);
  const std::string url =
      detector.login_url.empty() ? std::string(kCopyleaksDefaultLoginUrl) : detector.login_url;
  return json_post(url, json_object({{"email", detector.email, {}}, {"key", detector.api_key, {}}}),
                   timeout_ms);
}

CopyleaksLogin parse_copyleaks_login_response(const HttpResponse& response) {
  if (!response.ok()) return {"", "login failed: " + response.error};
  if (response.status != 200) return {"", "login failed: " + describe_http_error(response)};
  rapidjson::Document root;
  if (std::string error = parse_json(response.body, root); !error.empty()) {
    return {"", "login failed: " + error};
  }
  const rapidjson::Value* token = rapidjson::Pointer("/access_token").Get(root);
  if (token == nullptr || !token->IsString() || token->GetStringLength() == 0) {
    return {"", "login failed: no access_token in the response"};
  }
  return {std::string(token->GetString(), token->GetStringLength()), ""};
}

}  // namespace integrations
