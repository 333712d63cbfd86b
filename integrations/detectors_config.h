// The detectors file (LEDGER_DETECTORS, format fixed in DESIGN.md "Configuration"):
// which external AI detectors exist, how to reach them, their weights and timeouts, and
// the verdict thresholds. Parsing is strict and reports the first problem as a value.
//
// Format (all fields but `detectors[].name` / `kind` optional unless noted):
//   {"overall_timeout_ms": 20000,                       // 1..120000, default 20000
//    "verdict": {"likely_human_below": 35, "likely_ai_from": 65},   // 0..100, below <= from
//    "internal_weight": 1.0,                             // extension: weight of the internal
//                                                        // detector in the average, 0..100
//    "detectors": [                                      // at most kDetectorsMax
//      {"name": "gptzero",          // [a-z0-9_-]{1,64}, unique, not "internal"
//       "kind": "gptzero",          // gptzero|zerogpt|sapling|copyleaks|writer|originality|generic
//       "enabled": true,            // default true
//       "base_url": "https://...",  // replaces the provider's scheme+host (not for generic)
//       "api_key": "...",           // required when enabled (not for generic), unless
//       "api_key_env": "GPTZERO_KEY",  // names a set environment variable holding it
//                                   // (a set, non-empty variable wins over "api_key")
//       "weight": 1.0,              // 0..100, default 1; 0 = shown but not averaged
//       "timeout_ms": 8000,         // 1..120000, default 8000
//       // copyleaks: "email" (required when enabled), "login_url", "sandbox" (default false)
//       // generic: "url" (required), "auth_header", "auth_value" (or "auth_value_env",
//       //   read like api_key_env), "text_field" (default "text"), "score_pointer"
//       //   (required, RFC 6901), "scale" (1 or 100, default 100), "invert" (default false)
//      }]}
// Unknown keys are errors (they are usually typos), except keys starting with "_", which
// are free for comments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace integrations {

inline constexpr std::size_t kDetectorsMax = 32;
inline constexpr int64_t kDetectorTimeoutMsMax = 120'000;
inline constexpr std::size_t kDetectorsFileBytesMax = 1024 * 1024;
// The name under which the internal detector appears in weights and results.
inline constexpr std::string_view kInternalDetectorName = "internal";

enum class DetectorKind {
  kGptzero,
  kZerogpt,
  kSapling,
  kCopyleaks,
  kWriter,
  kOriginality,
  kGeneric
};

// The `kind` string of the file ("gptzero", ...).
std::string_view detector_kind_name(DetectorKind kind);
std::optional<DetectorKind> parse_detector_kind(std::string_view name);

struct DetectorConfig {
  std::string name;
  DetectorKind kind = DetectorKind::kGeneric;
  bool enabled = true;
  std::string base_url;  // "" = the provider's production host.
  std::string api_key;
  double weight = 1.0;
  int64_t timeout_ms = 8'000;
  // copyleaks
  std::string email;
  std::string login_url;  // "" = https://id.copyleaks.com/v3/account/login/api
  bool sandbox = false;
  // generic
  std::string url;
  std::string auth_header;
  std::string auth_value;
  std::string text_field = "text";
  std::string score_pointer;
  int scale = 100;  // 1: the score is 0..1; 100: the score is 0..100.
  bool invert = false;
};

struct VerdictThresholds {
  double likely_human_below = 35.0;
  double likely_ai_from = 65.0;
};

struct DetectorsConfig {
  int64_t overall_timeout_ms = 20'000;
  VerdictThresholds verdict;
  double internal_weight = 1.0;
  std::vector<DetectorConfig> detectors;

  // The detector called `name`, or nullptr.
  const DetectorConfig* find(std::string_view name) const;
  // Weight per detector name, including kInternalDetectorName -> internal_weight.
  std::map<std::string, double, std::less<>> weights() const;
};

struct DetectorsConfigResult {
  std::optional<DetectorsConfig> config;
  std::string error;  // "detectors[2].timeout_ms: must be an integer in 1..120000", ...
  bool ok() const { return config.has_value(); }
};

// Parses and validates the JSON text of a detectors file.
DetectorsConfigResult parse_detectors_config(std::string_view json);

// Reads the file at `path` (at most kDetectorsFileBytesMax) and parses it; a read error
// is reported like a parse error, prefixed with the path.
DetectorsConfigResult load_detectors_config(const std::string& path);

}  // namespace integrations
