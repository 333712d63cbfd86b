// Clients of our own model services (DESIGN.md "Configuration"):
//  - HumanizerClient (HUMANIZER_URL): POST {url} {"text","mode","readability","purpose"}
//    -> 200 {"text"}; anything else fails that chunk. Without a URL it uses the built-in
//    local rewriter (content::rewrite_locally), a rule-based stand-in, not a model.
//  - InternalDetector (INTERNAL_DETECTOR_URL): POST {url} {"text"} -> {"score": 0..100}.
//    Without a URL it uses the built-in heuristic (content::heuristic_ai_score).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "content/request_rules.h"
#include "integrations/detector_result.h"
#include "integrations/http_client.h"

namespace integrations {

inline constexpr std::size_t kHumanizeParallelMax = 16;
inline constexpr std::size_t kHumanizeChunksMax = 1'000;
inline constexpr int kHumanizeRetriesOn5xx = 1;

struct HumanizerSettings {
  std::string url;                       // "" = built-in local rewriter.
  long timeout_ms = 30'000;              // Per request attempt, 1..kTimeoutMsMax.
  long connect_timeout_ms = 3'000;       // 1..kTimeoutMsMax.
  int64_t overall_timeout_ms = 120'000;  // Whole humanize_chunks call, >= 1.
};

struct ChunkOutcome {
  bool ok = false;
  std::string text;        // Humanized text when ok.
  std::string error;       // Why not, when !ok.
  bool timed_out = false;  // The failure was a timeout (maps to 503/504 upstream).
  int attempts = 0;        // Requests sent for this chunk (0 for the local rewriter).
  int64_t latency_ms = 0;  // Sum over attempts.
};

class HumanizerClient {
 public:
  explicit HumanizerClient(HumanizerSettings settings);

  bool uses_local_rewriter() const { return settings_.url.empty(); }

  // Humanizes each chunk (at most kHumanizeChunksMax) and returns one outcome per chunk,
  // in order. With a URL, at most `max_parallel` (1..kHumanizeParallelMax) requests run
  // at once; a 5xx answer is retried once; 4xx, timeouts, transport errors and answers
  // without a non-empty "text" string fail the chunk. Everything stops at
  // settings.overall_timeout_ms. Never throws for remote failures.
  std::vector<ChunkOutcome> humanize_chunks(const std::vector<std::string>& chunks,
                                            const content::HumanizeOptions& options,
                                            std::size_t max_parallel) const;

 private:
  HttpRequest request_for(const std::string& chunk, const content::HumanizeOptions& options) const;

  HumanizerSettings settings_;
};

struct InternalDetectorSettings {
  std::string url;                  // "" = built-in heuristic.
  long timeout_ms = 10'000;         // 1..kTimeoutMsMax.
  long connect_timeout_ms = 3'000;  // 1..kTimeoutMsMax.
};

// Results are named kInternalDetectorName ("internal").
class InternalDetector {
 public:
  explicit InternalDetector(InternalDetectorSettings settings = {});

  bool uses_heuristic() const { return settings_.url.empty(); }

  // The request to send (so it can join a detector fan-out), with its timeout capped at
  // timeout_ms_max; nullopt when the heuristic is used.
  std::optional<HttpRequest> build_request(std::string_view text, long timeout_ms_max) const;

  // Interprets the service's answer: 200 with a numeric "score" in 0..100 is a success;
  // timeouts are kTimeout; everything else is kError.
  DetectorResult parse_response(const HttpResponse& response) const;

  // The built-in heuristic's result (always kSuccess).
  DetectorResult score_locally(std::string_view text) const;

  // Blocking convenience: the service when configured, else the heuristic.
  DetectorResult score(std::string_view text) const;

 private:
  InternalDetectorSettings settings_;
};

}  // namespace integrations
