// Fuzz target: the detectors file parser (integrations::parse_detectors_config,
// integrations/detectors_config.h).
//
// Input: the text of a detectors file.
//
// Properties:
// - an error is a non-empty, valid UTF-8 message;
// - a parsed file keeps every limit of the format: timeouts, weights and thresholds in
//   range, at most kDetectorsMax detectors with valid, distinct names, credentials for the
//   enabled ones, http(s) URLs, valid JSON pointers and header names, no line breaks, and
//   storable text (valid UTF-8, no NUL) in every string;
// - the configuration written back as a detectors file parses to the same configuration.
#include <rapidjson/pointer.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "integrations/detectors_config.h"
#include "ledger/json_fields.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using fuzz::begin_object;
using integrations::DetectorConfig;
using integrations::DetectorKind;
using integrations::DetectorsConfig;
using ledger::json::put;

void put_number(ledger::json::Writer& writer, const char* key, double value) {
  writer.Key(key);
  writer.Double(value);
}

void write_detector(ledger::json::Writer& writer, const DetectorConfig& detector) {
  writer.StartObject();
  put(writer, "name", detector.name);
  put(writer, "kind", integrations::detector_kind_name(detector.kind));
  put(writer, "enabled", detector.enabled);
  put_number(writer, "weight", detector.weight);
  put(writer, "timeout_ms", detector.timeout_ms);
  if (detector.kind == DetectorKind::kGeneric) {
    put(writer, "url", detector.url);
    put(writer, "auth_header", detector.auth_header);
    put(writer, "auth_value", detector.auth_value);
    put(writer, "text_field", detector.text_field);
    put(writer, "score_pointer", detector.score_pointer);
    put(writer, "scale", int64_t{detector.scale});
    put(writer, "invert", detector.invert);
  } else {
    put(writer, "base_url", detector.base_url);
    put(writer, "api_key", detector.api_key);
  }
  if (detector.kind == DetectorKind::kCopyleaks) {
    put(writer, "email", detector.email);
    put(writer, "login_url", detector.login_url);
    put(writer, "sandbox", detector.sandbox);
  }
  writer.EndObject();
}

std::string write_config(const DetectorsConfig& config) {
  return fuzz::write_json([&](ledger::json::Writer& writer) {
    writer.StartObject();
    put(writer, "overall_timeout_ms", config.overall_timeout_ms);
    begin_object(writer, "verdict");
    put_number(writer, "likely_human_below", config.verdict.likely_human_below);
    put_number(writer, "likely_ai_from", config.verdict.likely_ai_from);
    writer.EndObject();
    put_number(writer, "internal_weight", config.internal_weight);
    writer.Key("detectors");
    writer.StartArray();
    for (const DetectorConfig& detector : config.detectors) write_detector(writer, detector);
    writer.EndArray();
    writer.EndObject();
  });
}

// Numbers go through text and back: equal up to the parser's last-digit rounding.
bool same_number(double a, double b) {
  return std::fabs(a - b) <= 1e-12 * std::max(1.0, std::fabs(a));
}

auto exact_fields(const DetectorConfig& d) {
  return std::tie(d.name, d.kind, d.enabled, d.base_url, d.api_key, d.timeout_ms, d.email,
                  d.login_url, d.sandbox, d.url, d.auth_header, d.auth_value, d.text_field,
                  d.score_pointer, d.scale, d.invert);
}

bool same_config(const DetectorsConfig& a, const DetectorsConfig& b) {
  if (a.overall_timeout_ms != b.overall_timeout_ms || a.detectors.size() != b.detectors.size() ||
      !same_number(a.internal_weight, b.internal_weight) ||
      !same_number(a.verdict.likely_human_below, b.verdict.likely_human_below) ||
      !same_number(a.verdict.likely_ai_from, b.verdict.likely_ai_from)) {
    return false;
  }
  return std::equal(a.detectors.begin(), a.detectors.end(), b.detectors.begin(),
                    [](const DetectorConfig& x, const DetectorConfig& y) {
                      return exact_fields(x) == exact_fields(y) && same_number(x.weight, y.weight);
                    });
}

bool is_clean_text(std::string_view text) {
  return fuzz::is_storable_text(text) && text.find_first_of("\r\n") == std::string_view::npos;
}

bool is_empty_or_http_url(std::string_view url) {
  return url.empty() || url.starts_with("http://") || url.starts_with("https://");
}

void check_generic(const DetectorConfig& detector) {
  FUZZ_REQUIRE(!detector.url.empty() && is_empty_or_http_url(detector.url));
  FUZZ_REQUIRE(detector.scale == 1 || detector.scale == 100);
  FUZZ_REQUIRE(!detector.text_field.empty());
  FUZZ_REQUIRE(
      !detector.score_pointer.empty() &&
      rapidjson::Pointer(detector.score_pointer.data(), detector.score_pointer.size()).IsValid());
  FUZZ_REQUIRE(std::all_of(detector.auth_header.begin(), detector.auth_header.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f && c != ':';
  }));
}

void check_detector(const DetectorsConfig& config, const DetectorConfig& detector) {
  FUZZ_REQUIRE(config.find(detector.name) == &detector);
  FUZZ_REQUIRE(!detector.name.empty() && detector.name.size() <= 64 &&
               detector.name != integrations::kInternalDetectorName);
  FUZZ_REQUIRE(detector.timeout_ms >= 1 &&
               detector.timeout_ms <= integrations::kDetectorTimeoutMsMax);
  FUZZ_REQUIRE(detector.weight >= 0.0 && detector.weight <= 100.0);
  for (const std::string* text :
       {&detector.name, &detector.base_url, &detector.api_key, &detector.email, &detector.login_url,
        &detector.url, &detector.auth_header, &detector.auth_value, &detector.text_field,
        &detector.score_pointer}) {
    FUZZ_REQUIRE(is_clean_text(*text));
  }
  FUZZ_REQUIRE(is_empty_or_http_url(detector.base_url) && is_empty_or_http_url(detector.login_url));
  if (detector.kind == DetectorKind::kGeneric) return check_generic(detector);
  FUZZ_REQUIRE(!detector.enabled || !detector.api_key.empty());
  if (detector.kind == DetectorKind::kCopyleaks) {
    FUZZ_REQUIRE(!detector.enabled || !detector.email.empty());
  }
}

void check_config(const DetectorsConfig& config) {
  FUZZ_REQUIRE(config.overall_timeout_ms >= 1 &&
               config.overall_timeout_ms <= integrations::kDetectorTimeoutMsMax);
  FUZZ_REQUIRE(config.internal_weight >= 0.0 && config.internal_weight <= 100.0);
  FUZZ_REQUIRE(0.0 <= config.verdict.likely_human_below &&
               config.verdict.likely_human_below <= config.verdict.likely_ai_from &&
               config.verdict.likely_ai_from <= 100.0);
  FUZZ_REQUIRE(config.detectors.size() <= integrations::kDetectorsMax);
  for (const DetectorConfig& detector : config.detectors) check_detector(config, detector);
  FUZZ_REQUIRE(config.weights().size() == config.detectors.size() + 1);
  const integrations::DetectorsConfigResult again =
      integrations::parse_detectors_config(write_config(config));
  FUZZ_REQUIRE(again.ok());
  FUZZ_REQUIRE(same_config(config, *again.config));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const integrations::DetectorsConfigResult parsed =
      integrations::parse_detectors_config(fuzz::as_text(data, size));
  if (!parsed.ok()) {
    FUZZ_REQUIRE(!parsed.error.empty() && fuzz::is_valid_utf8(parsed.error));
    return 0;
  }
  check_config(*parsed.config);
  return 0;
}
