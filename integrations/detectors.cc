// Detector fan-out over perform_all, and score aggregation.
#include "integrations/detectors.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>

#include "integrations/detector_adapters.h"
#include "integrations/provider_json.h"

namespace integrations {
namespace {

using Clock = std::chrono::steady_clock;

// Every configured detector plus the internal one must fit in one perform_all call.
static_assert(kDetectorsMax + 1 <= kParallelRequestsMax);

int64_t remaining_ms(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
}

bool contains(const DetectorSelection& selection, std::string_view name) {
  return std::find(selection->begin(), selection->end(), name) != selection->end();
}

DetectorResult not_asked(std::string name, DetectorStatus status, std::string reason) {
  return {std::move(name), status, 0.0, 0, std::move(reason)};
}

DetectorResult from_response(const DetectorConfig& detector, const HttpResponse& response) {
  DetectorResult result{detector.name, DetectorStatus::kError, 0.0, response.latency_ms, ""};
  if (!response.ok()) {
    const bool timed_out = response.failure == HttpResponse::Failure::kTimeout;
    result.status = timed_out ? DetectorStatus::kTimeout : DetectorStatus::kError;
    result.reason = std::string(failure_name(response.failure)) + ": " + response.error;
    return result;
  }
  ParsedScore parsed = parse_detector_response(detector, response);
  if (!parsed.score.has_value()) {
    result.reason = std::move(parsed.error);
    return result;
  }
  result.status = DetectorStatus::kSuccess;
  result.score = *parsed.score;
  return result;
}

void log_unsuccessful(const std::vector<DetectorResult>& results) {
  for (const DetectorResult& result : results) {
    if (result.status == DetectorStatus::kTimeout || result.status == DetectorStatus::kError) {
      spdlog::warn("detector {} {} after {} ms: {}", result.name,
                   detector_status_name(result.status), result.latency_ms, result.reason);
    }
  }
}

}  // namespace

std::string_view detector_status_name(DetectorStatus status) {
  switch (status) {
    case DetectorStatus::kSuccess:
      return "success";
    case DetectorStatus::kTimeout:
      return "timeout";
    case DetectorStatus::kError:
      return "error";
    case DetectorStatus::kSkipped:
      return "skipped";
  }
  return "error";
}

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLikelyHuman:
      return "likely_human";
    case Verdict::kMixed:
      return "mixed";
    case Verdict::kLikelyAi:
      return "likely_ai";
    case Verdict::kUndetermined:
      return "undetermined";
  }
  return "undetermined";
}

Verdict verdict_for(double score, const VerdictThresholds& thresholds) {
  assert(thresholds.likely_human_below <= thresholds.likely_ai_from);
  if (score < thresholds.likely_human_below) return Verdict::kLikelyHuman;
  if (score >= thresholds.likely_ai_from) return Verdict::kLikelyAi;
  return Verdict::kMixed;
}

AggregateScore aggregate(const std::vector<DetectorResult>& results,
                         const std::map<std::string, double, std::less<>>& weights,
                         const VerdictThresholds& thresholds) {
  double weighted_sum = 0.0;
  double weight_total = 0.0;
  AggregateScore aggregated;
  for (const DetectorResult& result : results) {
    if (result.status != DetectorStatus::kSuccess) continue;
    assert(result.score >= 0.0 && result.score <= 100.0);
    const auto it = weights.find(result.name);
    const double weight = it == weights.end() ? 1.0 : it->second;
    assert(weight >= 0.0);
    if (weight <= 0.0) continue;
    weighted_sum += weight * result.score;
    weight_total += weight;
    aggregated.contributing += 1;
  }
  if (aggregated.contributing == 0) return aggregated;
  const double overall = round_score(weighted_sum / weight_total);
  assert(overall >= 0.0 && overall <= 100.0);
  aggregated.overall_score = overall;
  aggregated.verdict = verdict_for(overall, thresholds);
  return aggregated;
}

DetectorFanout::DetectorFanout(DetectorsConfig config, InternalDetector internal,
                               CopyleaksTokenCache::NowFunction now)
    : config_(std::move(config)), internal_(std::move(internal)), tokens_(std::move(now)) {
  assert(config_.detectors.size() <= kDetectorsMax);
}

std::vector<std::string> DetectorFanout::unknown_names(
    const std::vector<std::string>& names) const {
  std::vector<std::string> unknown;
  for (const std::string& name : names) {
    if (config_.find(name) == nullptr) unknown.push_back(name);
  }
  return unknown;
}

std::vector<const DetectorConfig*> DetectorFanout::select(
    const DetectorSelection& selection) const {
  std::vector<const DetectorConfig*> selected;
  for (const DetectorConfig& detector : config_.detectors) {
    const bool wanted =
        selection.has_value() ? contains(selection, detector.name) : detector.enabled;
    if (wanted) selected.push_back(&detector);
  }
  return selected;
}

std::optional<DetectorResult> DetectorFanout::precheck(const DetectorConfig& detector,
                                                       std::string_view text, long budget_ms,
                                                       std::string& copyleaks_token) {
  if (!detector.enabled) return not_asked(detector.name, DetectorStatus::kSkipped, "disabled");
  if (std::optional<std::string> reason = length_skip_reason(detector, text)) {
    return not_asked(detector.name, DetectorStatus::kSkipped, std::move(*reason));
  }
  if (detector.kind != DetectorKind::kCopyleaks) return std::nullopt;
  const auto login_started = Clock::now();
  CopyleaksToken token = tokens_.get(detector, std::min(budget_ms, kCopyleaksLoginTimeoutMsMax));
  if (token.ok()) {
    copyleaks_token = std::move(token.access_token);
    return std::nullopt;
  }
  DetectorResult failed =
      not_asked(detector.name, token.timed_out ? DetectorStatus::kTimeout : DetectorStatus::kError,
                std::move(token.error));
  failed.latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - login_started).count();
  return failed;
}

DetectorFanout::FanoutOutcome DetectorFanout::fan_out(std::string_view text,
                                                      const DetectorSelection& selection,
                                                      bool include_internal) {
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(config_.overall_timeout_ms);
  FanoutOutcome outcome;
  std::vector<HttpRequest> requests;
  struct Asked {
    std::size_t result_index;
    const DetectorConfig* detector;
    std::string copyleaks_token;
  };
  std::vector<Asked> asked;  // Parallel to the first asked.size() requests.
  for (const DetectorConfig* detector : select(selection)) {
    const long budget_ms =
        static_cast<long>(std::clamp<int64_t>(remaining_ms(deadline), 1, kTimeoutMsMax));
    std::string copyleaks_token;
    if (std::optional<DetectorResult> result =
            precheck(*detector, text, budget_ms, copyleaks_token)) {
      outcome.detectors.push_back(std::move(*result));
      continue;
    }
    const long timeout_ms = std::min<long>(budget_ms, static_cast<long>(detector->timeout_ms));
    AdapterRequest adapter = build_detector_request(*detector, text, timeout_ms, copyleaks_token);
    assert(adapter.request.has_value());
    asked.push_back({outcome.detectors.size(), detector, copyleaks_token});
    outcome.detectors.push_back(not_asked(detector->name, DetectorStatus::kError, "not answered"));
    requests.push_back(std::move(*adapter.request));
  }
  if (selection.has_value()) {
    for (const std::string& name : unknown_names(*selection)) {
      outcome.detectors.push_back(not_asked(name, DetectorStatus::kError, "unknown detector"));
    }
  }
  const long budget_ms =
      static_cast<long>(std::clamp<int64_t>(remaining_ms(deadline), 1, kTimeoutMsMax));
  std::optional<HttpRequest> internal_request =
      include_internal ? internal_.build_request(text, budget_ms) : std::nullopt;
  const bool internal_asked = internal_request.has_value();
  if (internal_asked) requests.push_back(std::move(*internal_request));
  if (requests.empty()) return outcome;

  const std::vector<HttpResponse> responses = perform_all(requests, budget_ms);
  assert(responses.size() == asked.size() + (internal_asked ? 1 : 0));
  for (std::size_t i = 0; i < asked.size(); ++i) {
    const Asked& entry = asked[i];
    outcome.detectors[entry.result_index] = from_response(*entry.detector, responses[i]);
    const bool unauthorized = responses[i].ok() && responses[i].status == 401;
    if (unauthorized && !entry.copyleaks_token.empty()) {
      tokens_.invalidate(*entry.detector, entry.copyleaks_token);  // Log in again next time.
    }
  }
  if (internal_asked) outcome.internal_response = responses.back();
  return outcome;
}

std::vector<DetectorResult> DetectorFanout::run_detectors(std::string_view text,
                                                          const DetectorSelection& selection) {
  FanoutOutcome outcome = fan_out(text, selection, false);
  log_unsuccessful(outcome.detectors);
  return std::move(outcome.detectors);
}

DetectionReport DetectorFanout::detect(std::string_view text, const DetectorSelection& selection) {
  const Clock::time_point started = Clock::now();
  FanoutOutcome outcome = fan_out(text, selection, true);
  DetectionReport report;
  report.detectors = std::move(outcome.detectors);
  report.internal = outcome.internal_response.has_value()
                        ? internal_.parse_response(*outcome.internal_response)
                        : internal_.score_locally(text);
  log_unsuccessful(report.detectors);
  log_unsuccessful({report.internal});

  std::vector<DetectorResult> all = report.detectors;
  all.push_back(report.internal);
  report.aggregate = aggregate(all, config_.weights(), config_.verdict);
  report.elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  return report;
}

}  // namespace integrations
