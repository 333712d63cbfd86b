// Test helpers for the detector tests: detector configurations pointing at loopback
// fakes, answers in each provider's real response format, and JSON field access.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "integrations/detectors_config.h"
#include "tests/support/fake_http_server.h"

namespace integrations_testing {

using Clock = std::chrono::steady_clock;

// Milliseconds elapsed since `start`.
inline int64_t ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// 400+ characters of prose: long enough for every provider's minimum length.
inline const std::string kLongText =
    "The committee reviewed the proposal over several weeks and, after a long series of "
    "meetings, decided that the budget needed another look. Nobody was thrilled about it. "
    "Still, the numbers did not add up, and the treasurer said so loudly at the final "
    "session, pointing at a spreadsheet that had clearly been copied from last year. "
    "Everyone laughed, then went quiet, then agreed to meet again on Thursday afternoon.";

// Under 255 characters: too short for copyleaks and writer.
inline const std::string kShortText =
    "A short text of a dozen words or so, written for the detector tests.";

inline integrations::DetectorConfig provider(integrations::DetectorKind kind,
                                             const std::string& name, const std::string& base_url) {
  integrations::DetectorConfig detector;
  detector.name = name;
  detector.kind = kind;
  detector.base_url = base_url;
  detector.api_key = "key-" + name;
  detector.timeout_ms = 2'000;
  if (kind == integrations::DetectorKind::kCopyleaks) {
    detector.email = name + "@example.com";
    detector.login_url = base_url + "/v3/account/login/api";
  }
  return detector;
}

inline integrations::DetectorConfig generic(const std::string& name, const std::string& url,
                                            const std::string& score_pointer, int scale = 100,
                                            bool invert = false) {
  integrations::DetectorConfig detector;
  detector.name = name;
  detector.kind = integrations::DetectorKind::kGeneric;
  detector.url = url;
  detector.score_pointer = score_pointer;
  detector.scale = scale;
  detector.invert = invert;
  detector.timeout_ms = 2'000;
  return detector;
}

inline integrations::DetectorsConfig config_of(std::vector<integrations::DetectorConfig> detectors,
                                               int64_t overall_timeout_ms = 5'000) {
  integrations::DetectorsConfig config;
  config.overall_timeout_ms = overall_timeout_ms;
  config.detectors = std::move(detectors);
  return config;
}

// Provider answers in their documented formats.
inline testing_support::FakeResponse gptzero_answer(double ai, int64_t delay_ms = 0) {
  return testing_support::FakeResponse::json(
      200,
      R"({"version":"2024-01-09","documents":[{"average_generated_prob":0.5,)"
      R"("completely_generated_prob":0.4,"class_probabilities":{"human":0.1,"ai":)" +
          std::to_string(ai) + R"(,"mixed":0.0},"predicted_class":"ai"}]})",
      delay_ms);
}
inline testing_support::FakeResponse zerogpt_answer(double fake_percentage, int64_t delay_ms = 0) {
  return testing_support::FakeResponse::json(
      200,
      R"({"success":true,"code":200,"message":"detection complete","data":{"sentences":[],)"
      R"("isHuman":0,"textWords":60,"aiWords":20,"fakePercentage":)" +
          std::to_string(fake_percentage) + R"(,"feedback":"Mixed"}})",
      delay_ms);
}
inline testing_support::FakeResponse sapling_answer(double score, int64_t delay_ms = 0) {
  return testing_support::FakeResponse::json(
      200, R"({"score":)" + std::to_string(score) + R"(,"sentence_scores":[],"text":"..."})",
      delay_ms);
}
inline testing_support::FakeResponse copyleaks_answer(double ai, int64_t delay_ms = 0) {
  return testing_support::FakeResponse::json(
      200,
      R"({"modelVersion":"v5","results":[],"summary":{"human":)" + std::to_string(1.0 - ai) +
          R"(,"ai":)" + std::to_string(ai) + R"(},"scannedDocument":{"scanId":"x"}})",
      delay_ms);
}
inline testing_support::FakeResponse copyleaks_login_answer(const std::string& token) {
  return testing_support::FakeResponse::json(
      200, R"({"access_token":")" + token +
               R"(",".issued":"2025-01-01T00:00:00Z",".expires":"2025-01-03T00:00:00Z"})");
}
inline testing_support::FakeResponse writer_answer(const std::string& label, double score,
                                                   int64_t delay_ms = 0) {
  return testing_support::FakeResponse::json(
      200, R"({"label":")" + label + R"(","score":)" + std::to_string(score) + "}", delay_ms);
}
inline testing_support::FakeResponse originality_answer(double ai, int64_t delay_ms = 0) {
  return testing_support::FakeResponse::json(
      200,
      R"({"success":true,"score":{"original":)" + std::to_string(1.0 - ai) + R"(,"ai":)" +
          std::to_string(ai) + R"(},"credits_used":1,"public_link":"https://example"})",
      delay_ms);
}

// The string at JSON pointer `pointer` in `json`, or "" when absent or not a string.
inline std::string json_string_at(const std::string& json, const char* pointer) {
  rapidjson::Document document;
  document.Parse(json.c_str(), json.size());
  if (document.HasParseError()) return "";
  const rapidjson::Value* value = rapidjson::Pointer(pointer).Get(document);
  return value != nullptr && value->IsString() ? value->GetString() : "";
}

inline bool json_bool_at(const std::string& json, const char* pointer, bool fallback) {
  rapidjson::Document document;
  document.Parse(json.c_str(), json.size());
  if (document.HasParseError()) return fallback;
  const rapidjson::Value* value = rapidjson::Pointer(pointer).Get(document);
  return value != nullptr && value->IsBool() ? value->GetBool() : fallback;
}

}  // namespace integrations_testing
