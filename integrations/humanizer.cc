// Humanizer and internal-detector clients.
#include "integrations/humanizer.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cassert>
#include <chrono>

#include "content/ai_heuristic.h"
#include "content/local_rewriter.h"
#include "integrations/detectors_config.h"
#include "integrations/provider_json.h"

namespace integrations {
namespace {

using Clock = std::chrono::steady_clock;

int64_t remaining_ms(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
}

struct HumanizedText {
  std::optional<std::string> text;
  std::string error;
};

HumanizedText parse_humanized(const HttpResponse& response) {
  assert(response.ok() && response.status == 200);
  rapidjson::Document root;
  if (std::string error = parse_json(response.body, root); !error.empty())
    return {std::nullopt, error};
  if (!root.IsObject()) return {std::nullopt, "answer is not a JSON object"};
  const auto it = root.FindMember("text");
  if (it == root.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() == 0) {
    return {std::nullopt, "answer has no non-empty \"text\" string"};
  }
  return {std::string(it->value.GetString(), it->value.GetStringLength()), ""};
}

// Records one attempt's response in `outcome`; returns true when the chunk should be
// retried (a 5xx with retries left).
bool record_attempt(ChunkOutcome& outcome, const HttpResponse& response, bool may_retry) {
  outcome.attempts += 1;
  outcome.latency_ms += response.latency_ms;
  if (!response.ok()) {
    outcome.error =
        "humanizer " + std::string(failure_name(response.failure)) + ": " + response.error;
    outcome.timed_out = response.failure == HttpResponse::Failure::kTimeout;
    return false;
  }
  if (response.status != 200) {
    outcome.error = "humanizer " + describe_http_error(response);
    return response.status >= 500 && may_retry;
  }
  HumanizedText parsed = parse_humanized(response);
  if (!parsed.text.has_value()) {
    outcome.error = "humanizer " + parsed.error;
    return false;
  }
  outcome.ok = true;
  outcome.text = std::move(*parsed.text);
  outcome.error.clear();
  return false;
}

}  // namespace

HumanizerClient::HumanizerClient(HumanizerSettings settings) : settings_(std::move(settings)) {
  assert(settings_.timeout_ms >= 1 && settings_.timeout_ms <= kTimeoutMsMax);
  assert(settings_.overall_timeout_ms >= 1);
}

HttpRequest HumanizerClient::request_for(const std::string& chunk,
                                         const content::HumanizeOptions& options) const {
  HttpRequest request;
  request.method = "POST";
  request.url = settings_.url;
  request.headers = json_headers();
  request.body = json_object({{"text", chunk, {}},
                              {"mode", options.mode, {}},
                              {"readability", options.readability, {}},
                              {"purpose", options.purpose, {}}});
  request.timeout_ms = settings_.timeout_ms;
  request.connect_timeout_ms = settings_.connect_timeout_ms;
  return request;
}

std::vector<ChunkOutcome> HumanizerClient::humanize_chunks(const std::vector<std::string>& chunks,
                                                           const content::HumanizeOptions& options,
                                                           std::size_t max_parallel) const {
  assert(chunks.size() <= kHumanizeChunksMax);
  std::vector<ChunkOutcome> outcomes(chunks.size());
  if (uses_local_rewriter()) {
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      outcomes[i].ok = true;
      outcomes[i].text = content::rewrite_locally(chunks[i], options.mode);
    }
    return outcomes;
  }
  const std::size_t in_flight = std::clamp<std::size_t>(max_parallel, 1, kHumanizeParallelMax);
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(settings_.overall_timeout_ms);
  std::vector<std::size_t> pending(chunks.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;

  for (int attempt = 0; attempt <= kHumanizeRetriesOn5xx && !pending.empty(); ++attempt) {
    std::vector<std::size_t> retry;
    for (std::size_t start = 0; start < pending.size(); start += kParallelRequestsMax) {
      const std::size_t end = std::min(pending.size(), start + kParallelRequestsMax);
      const int64_t budget_ms = remaining_ms(deadline);
      std::vector<HttpRequest> requests;
      for (std::size_t k = start; k < end; ++k) {
        requests.push_back(request_for(chunks[pending[k]], options));
        requests.back().timeout_ms = std::clamp<long>(budget_ms, 1, settings_.timeout_ms);
      }
      const std::vector<HttpResponse> responses =
          perform_all(requests, std::max<int64_t>(budget_ms, 1), in_flight);
      for (std::size_t k = start; k < end; ++k) {
        const bool may_retry = attempt < kHumanizeRetriesOn5xx;
        if (record_attempt(outcomes[pending[k]], responses[k - start], may_retry))
          retry.push_back(pending[k]);
      }
    }
    pending = std::move(retry);
  }
  return outcomes;
}

InternalDetector::InternalDetector(InternalDetectorSettings settings)
    : settings_(std::move(settings)) {
  assert(settings_.timeout_ms >= 1 && settings_.timeout_ms <= kTimeoutMsMax);
}

std::optional<HttpRequest> InternalDetector::build_request(std::string_view text,
                                                           long timeout_ms_max) const {
  if (uses_heuristic()) return std::nullopt;
  HttpRequest request;
  request.method = "POST";
  request.url = settings_.url;
  request.headers = json_headers();
  request.body = json_object({{"text", std::string(text), {}}});
  request.timeout_ms = std::clamp(timeout_ms_max, 1L, settings_.timeout_ms);
  request.connect_timeout_ms = std::min(settings_.connect_timeout_ms, request.timeout_ms);
  return request;
}

DetectorResult InternalDetector::parse_response(const HttpResponse& response) const {
  DetectorResult result{std::string(kInternalDetectorName), DetectorStatus::kError, 0.0,
                        response.latency_ms, ""};
  if (!response.ok()) {
    const bool timed_out = response.failure == HttpResponse::Failure::kTimeout;
    result.status = timed_out ? DetectorStatus::kTimeout : DetectorStatus::kError;
    result.reason = response.error;
    return result;
  }
  if (response.status != 200) {
    result.reason = describe_http_error(response);
    return result;
  }
  rapidjson::Document root;
  if (std::string error = parse_json(response.body, root); !error.empty()) {
    result.reason = error;
    return result;
  }
  if (!root.IsObject() || !root.HasMember("score") || !root["score"].IsNumber()) {
    result.reason = "answer has no numeric \"score\"";
    return result;
  }
  const double score = root["score"].GetDouble();
  if (!(score >= 0.0 && score <= 100.0)) {
    result.reason = "score " + format_number(score) + " is outside 0..100";
    return result;
  }
  result.status = DetectorStatus::kSuccess;
  result.score = round_score(score);
  return result;
}

DetectorResult InternalDetector::score_locally(std::string_view text) const {
  return {std::string(kInternalDetectorName), DetectorStatus::kSuccess,
          content::heuristic_ai_score(text), 0, ""};
}

DetectorResult InternalDetector::score(std::string_view text) const {
  if (uses_heuristic()) return score_locally(text);
  const std::optional<HttpRequest> request = build_request(text, settings_.timeout_ms);
  assert(request.has_value());
  return parse_response(perform(*request));
}

}  // namespace integrations
