// The paid content requests below HTTP: humanize and detect, priced from the account's plan
// and charged around the model calls (usecases/charge.h):
//
//   price -> RESERVE the price (refused before any model call) -> call the models
//   -> CAPTURE the price of what succeeded (the capture releases the rest) or, when nothing
//   succeeded, RELEASE everything: ModelsUnavailable, no charge.
//
// So a request is charged at most once, and only for work that was delivered; a capture
// whose commit was in doubt (LedgerFailure::kOutcomeUnknown) is not released, since it may
// have landed (a repeat of the request's key then answers that it was charged). The caller
// (http/content_routes.cc) reads and checks the request, authenticates and limits it, and
// turns these results into replies. Blocking (model calls); thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "content/request_rules.h"
#include "content/text.h"
#include "integrations/detectors.h"
#include "integrations/humanizer.h"
#include "ledger/commands.h"
#include "ledger/pg.h"
#include "ledger/plans.h"
#include "usecases/charge.h"

namespace usecases {

// A text as the content use cases take it: sanitised, of an accepted word count, chunked
// on sentence boundaries (at most content::kChunkWordsDefault words per chunk).
struct SanitizedText {
  std::string text;
  int64_t word_count = 0;
  std::vector<content::TextChunk> chunks;
};

// Who asks, and the base of the request's ledger keys (the client's key scoped to the
// route, or a fresh UUID: see RequestCharge).
struct ContentRequest {
  std::string account_id;
  ledger::EventMetadata metadata{};
  std::string key_base;
  std::string request_id;  // for the log
};

struct ContentSettings {
  std::size_t humanizer_parallelism = 4;  // chunks in flight per request, 1..kHumanizeParallelMax
  // Lifetime of a request's reservation: must outlast the slowest model call (the humanizer's
  // overall timeout, the detectors' overall deadline), so a capture never finds it expired.
  int64_t reservation_ttl_s = 600;
};

// No model delivered anything: the reservation was released, nothing was charged.
struct ModelsUnavailable {};

struct HumanizeResult {
  std::string humanized_text;  // failed chunks keep their (sanitised) original text
  int64_t credits_used = 0;    // the price of the chunks that succeeded
  int64_t credits_remaining = 0;
  std::size_t chunks_failed = 0;
};

struct DetectResult {
  integrations::DetectionReport report;
  int64_t credits_used = 0;  // the whole price: at least one detector succeeded
  int64_t credits_remaining = 0;
};

class ContentService {
 public:
  // Preconditions: every plan's pricing rules are valid content::PricingRule values (the plan
  // catalog guarantees it), the reservation outlives both model deadlines.
  ContentService(ContentSettings settings, ledger::PlanCatalog plans,
                 integrations::HumanizerSettings humanizer,
                 integrations::InternalDetectorSettings internal_detector,
                 integrations::DetectorsConfig detectors);

  // Humanizes `text` chunk by chunk; each chunk is billed on its own (seed table), so the
  // chunks the humanizer failed on are not charged.
  std::variant<HumanizeResult, Refusal, ModelsUnavailable> humanize(
      const ReadConnection& reads, const CommandSubmitter& submit, const ContentRequest& request,
      const SanitizedText& text, const content::HumanizeOptions& options) const;

  // Asks the selected detectors and the internal one; charged in full when at least one of
  // them succeeded (priced like humanize, with the plan's detect rule).
  std::variant<DetectResult, Refusal, ModelsUnavailable> detect(
      const ReadConnection& reads, const CommandSubmitter& submit, const ContentRequest& request,
      const SanitizedText& text, const integrations::DetectorSelection& selection);

  // The configured detectors (requests name them; unknown names are the caller's 400).
  const integrations::DetectorFanout& fanout() const { return fanout_; }

 private:
  const ContentSettings settings_;
  const ledger::PlanCatalog plans_;
  const integrations::HumanizerClient humanizer_;
  integrations::DetectorFanout fanout_;
};

}  // namespace usecases
