// The outcome of asking one AI detector (external provider or the internal detector)
// about one text. Shared by the detector fan-out and the internal detector client.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace integrations {

enum class DetectorStatus {
  kSuccess,  // score is valid.
  kTimeout,  // The detector did not answer within its timeout or the overall deadline.
  kError,    // Transport failure, HTTP error, unparsable or out-of-range answer.
  kSkipped,  // Not asked: disabled, or the text is outside the provider's length limits.
};

// "success", "timeout", "error", "skipped": the strings of the /detect response.
std::string_view detector_status_name(DetectorStatus status);

struct DetectorResult {
  std::string name;
  DetectorStatus status = DetectorStatus::kError;
  double score = 0.0;      // AI likelihood 0..100 (one decimal); meaningful on kSuccess only.
  int64_t latency_ms = 0;  // 0 when no request was made.
  std::string reason;      // Why it is not a success (for logs; not shown to end users).
};

}  // namespace integrations
