// Wire formats of the external AI detectors: for each provider kind, the HTTP request
// that asks it about a text and the parsing of its answer into an "AI likelihood"
// 0..100. Pure functions (no I/O); the fan-out in detectors.h sends the requests.
//
//   gptzero      POST {base}/v2/predict/text, x-api-key, {"document"}
//                -> documents[0].class_probabilities.ai (0..1), else
//                   documents[0].completely_generated_prob (0..1)
//   zerogpt      POST {base}/api/detect/detectText, ApiKey, {"input_text"}
//                -> data.fakePercentage (0..100); "success": false is an error
//   sapling      POST {base}/api/v1/aidetect, {"key", "text"} -> score (0..1)
//   copyleaks    POST {base}/v2/writer-detector/{scanId}/check, Bearer <login token>,
//                {"text", "sandbox"} -> summary.ai (0..1); text of 255..25000 characters
//   writer       POST {base}/v1/tools/ai-detect, Bearer api_key, {"input"}
//                -> {"label": "fake"|"real", "score"}: AI = score if fake else 1 - score;
//                   text of at least 350 characters
//   originality  POST {base}/api/v1/scan/ai, X-OAI-API-KEY, {"content"} -> score.ai (0..1)
//   generic      POST url, optional auth header, {text_field} -> value at score_pointer,
//                scaled by 100 / scale, then 100 - x when invert
// `base` is the detector's base_url, or the provider's production host when empty.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "integrations/detectors_config.h"
#include "integrations/http_client.h"

namespace integrations {

inline constexpr std::string_view kGptzeroDefaultBase = "https://api.gptzero.me";
inline constexpr std::string_view kZerogptDefaultBase = "https://api.zerogpt.com";
inline constexpr std::string_view kSaplingDefaultBase = "https://api.sapling.ai";
inline constexpr std::string_view kCopyleaksDefaultBase = "https://api.copyleaks.com";
inline constexpr std::string_view kCopyleaksDefaultLoginUrl =
    "https://id.copyleaks.com/v3/account/login/api";
inline constexpr std::string_view kWriterDefaultBase = "https://api.writer.com";
inline constexpr std::string_view kOriginalityDefaultBase = "https://api.originality.ai";

struct AdapterRequest {
  std::optional<HttpRequest> request;  // nullopt: the detector is skipped for this text.
  std::string skip_reason;             // Set when request is nullopt.
};

// Why `detector` cannot judge `text` (provider length limits, counted in Unicode code
// points), or nullopt when it can.
std::optional<std::string> length_skip_reason(const DetectorConfig& detector,
                                              std::string_view text);

// The request asking `detector` about `text`, with timeout_ms (1..kTimeoutMsMax) as its
// whole-exchange timeout. `copyleaks_token` is the bearer token for copyleaks (required
// non-empty for that kind, ignored otherwise); each copyleaks request gets a fresh scanId.
AdapterRequest build_detector_request(const DetectorConfig& detector, std::string_view text,
                                      long timeout_ms, std::string_view copyleaks_token);

struct ParsedScore {
  std::optional<double> score;  // 0..100, rounded to one decimal.
  std::string error;            // Set when score is nullopt.
};

// Interprets an HTTP response (precondition: response.ok(), i.e. one arrived) from
// `detector`. Non-2xx statuses, invalid JSON, provider failure flags, missing or
// non-numeric fields and scores outside the provider's range are errors.
ParsedScore parse_detector_response(const DetectorConfig& detector, const HttpResponse& response);

// Copyleaks login: POST {login_url} {"email", "key"} -> {"access_token"}.
HttpRequest build_copyleaks_login_request(const DetectorConfig& detector, long timeout_ms);

struct CopyleaksLogin {
  std::string access_token;  // Non-empty on success.
  std::string error;
};
CopyleaksLogin parse_copyleaks_login_response(const HttpResponse& response);

}  // namespace integrations
