// AI detection across providers: the parallel fan-out to every selected external detector
// (plus the internal detector), and the aggregation of their scores into one weighted
// score and verdict. The detectors file format lives in detectors_config.h, the wire
// formats in detector_adapters.h.
//
// Aggregation: the overall score is the weighted mean of the successful results only
// (timeouts, errors and skips are excluded). The internal detector is one more input,
// named "internal", weighted by the file's `internal_weight` (default 1.0, i.e. it
// counts like one external detector); a weight of 0 shows a detector without averaging
// it. The verdict compares the overall score (rounded to one decimal) with the file's
// thresholds: < likely_human_below -> likely_human, >= likely_ai_from -> likely_ai,
// otherwise mixed; with nothing to average it is undetermined.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "integrations/copyleaks_token_cache.h"
#include "integrations/detector_result.h"
#include "integrations/detectors_config.h"
#include "integrations/humanizer.h"

namespace integrations {

enum class Verdict { kLikelyHuman, kMixed, kLikelyAi, kUndetermined };

// "likely_human", "mixed", "likely_ai", "undetermined".
std::string_view verdict_name(Verdict verdict);

// The verdict for a 0..100 score under `thresholds` (never kUndetermined).
Verdict verdict_for(double score, const VerdictThresholds& thresholds);

struct AggregateScore {
  std::optional<double> overall_score;  // 0..100, one decimal; nullopt when nothing counted.
  Verdict verdict = Verdict::kUndetermined;
  int contributing = 0;  // Successful results with a positive weight.
};

// Weighted mean of the successful `results`; a result's weight is weights[name], or 1.0
// when its name is missing from `weights`. Weights must be >= 0.
AggregateScore aggregate(const std::vector<DetectorResult>& results,
                         const std::map<std::string, double, std::less<>>& weights,
                         const VerdictThresholds& thresholds);

// Which external detectors to ask: nullopt = every enabled one.
using DetectorSelection = std::optional<std::vector<std::string>>;

struct DetectionReport {
  std::vector<DetectorResult> detectors;  // External detectors, in configuration order.
  DetectorResult internal;                // Named "internal".
  AggregateScore aggregate;               // Over detectors + internal.
  int64_t elapsed_ms = 0;
};

// Owns the configuration and the provider state that outlives one request (the Copyleaks
// token cache). Thread-safe: many requests may run detections concurrently.
class DetectorFanout {
 public:
  explicit DetectorFanout(DetectorsConfig config, InternalDetector internal = InternalDetector(),
                          CopyleaksTokenCache::NowFunction now = &CopyleaksTokenCache::Clock::now);

  const DetectorsConfig& config() const { return config_; }
  const CopyleaksTokenCache& token_cache() const { return tokens_; }

  // The names in `names` that are not configured detectors (validate requests with this
  // before charging for them).
  std::vector<std::string> unknown_names(const std::vector<std::string>& names) const;

  // Asks the selected external detectors about `text` in parallel and returns one result
  // per selected detector, in configuration order (then unknown names, as errors).
  // Explicitly selected disabled detectors and texts outside a provider's limits are
  // kSkipped. A Copyleaks login, when no cached token is valid, happens first with its
  // own short timeout. Returns within about config.overall_timeout_ms; anything
  // unanswered by then is kTimeout.
  std::vector<DetectorResult> run_detectors(std::string_view text,
                                            const DetectorSelection& selection);

  // run_detectors plus the internal detector (in the same parallel fan-out when it is a
  // remote service) and the aggregate.
  DetectionReport detect(std::string_view text, const DetectorSelection& selection);

 private:
  struct FanoutOutcome {
    std::vector<DetectorResult> detectors;
    std::optional<HttpResponse> internal_response;  // When the internal service was asked.
  };

  // Runs the selected detectors, plus the internal service when `include_internal`.
  FanoutOutcome fan_out(std::string_view text, const DetectorSelection& selection,
                        bool include_internal);
  // The configured detectors selected by `selection`, in configuration order.
  std::vector<const DetectorConfig*> select(const DetectorSelection& selection) const;
  // The result of a detector that will not be asked (disabled, outside its length
  // limits, Copyleaks login failed), or nullopt with `copyleaks_token` set as needed.
  std::optional<DetectorResult> precheck(const DetectorConfig& detector, std::string_view text,
                                         long budget_ms, std::string& copyleaks_token);

  const DetectorsConfig config_;
  const InternalDetector internal_;
  CopyleaksTokenCache tokens_;
};

}  // namespace integrations
