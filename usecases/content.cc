// Humanize and detect as use cases (usecases/content.h).
#include "usecases/content.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <numeric>
#include <utility>

#include "content/pricing.h"

namespace usecases {
namespace {

content::PricingRule pricing_rule(const ledger::PricingRule& rule) {
  return {rule.base_words, rule.base_credits};
}

RequestCharge request_charge(const ContentRequest& request, const CommandSubmitter& submit,
                             const ReadConnection& reads) {
  return RequestCharge(request.account_id, request.metadata, request.key_base, submit, reads);
}

// Gives the credits back now rather than at the expiry (so that a retry with the same key
// can run at once); a failure is only logged: the sweeper releases the reservation at its
// expiry, so the account is never charged for it either way.
void release_or_log(RequestCharge& charge, const ContentRequest& request) {
  assert(!charge.reservation_id().empty());
  if (!charge.release()) {
    spdlog::warn("request_id={} reservation {} not released now; it expires instead",
                 request.request_id, charge.reservation_id());
  }
}

// After a refused capture: released, unless the capture may have committed (its outcome is
// unknown), in which case the reservation stays as the ledger has it (captured, or open
// until the sweeper releases it).
void settle_refused_capture(RequestCharge& charge, const Refusal& refusal,
                            const ContentRequest& request) {
  const auto* failure = std::get_if<LedgerFailure>(&refusal);
  if (failure != nullptr && *failure == LedgerFailure::kOutcomeUnknown) {
    spdlog::warn("request_id={} capture of {} in doubt: not released", request.request_id,
                 charge.reservation_id());
    return;
  }
  release_or_log(charge, request);  // not charged, so not delivered
}

}  // namespace

ContentService::ContentService(ContentSettings settings, ledger::PlanCatalog plans,
                               integrations::HumanizerSettings humanizer,
                               integrations::InternalDetectorSettings internal_detector,
                               integrations::DetectorsConfig detectors)
    : settings_(settings),
      plans_(std::move(plans)),
      humanizer_(humanizer),
      fanout_(std::move(detectors), integrations::InternalDetector(std::move(internal_detector))) {
  assert(settings_.humanizer_parallelism >= 1 &&
         settings_.humanizer_parallelism <= integrations::kHumanizeParallelMax);
  assert(settings_.reservation_ttl_s * 1000 > humanizer.overall_timeout_ms);
  assert(settings_.reservation_ttl_s * 1000 > fanout_.config().overall_timeout_ms);
  for ([[maybe_unused]] const ledger::Plan& plan : plans_.plans()) {
    assert(content::is_valid_pricing_rule(pricing_rule(plan.humanize)));
    assert(content::is_valid_pricing_rule(pricing_rule(plan.detect)));
  }
}

std::variant<HumanizeResult, Refusal, ModelsUnavailable> ContentService::humanize(
    const ReadConnection& reads, const CommandSubmitter& submit, const ContentRequest& request,
    const SanitizedText& text, const content::HumanizeOptions& options) const {
  assert(!text.chunks.empty());
  auto plan = account_plan(reads(), plans_, submit, request.account_id, request.metadata);
  if (auto* refusal = std::get_if<Refusal>(&plan)) return std::move(*refusal);
  const content::PricingRule rule = pricing_rule(std::get<const ledger::Plan*>(plan)->humanize);
  std::vector<std::string> chunk_texts;
  std::vector<int64_t> chunk_prices;
  for (const content::TextChunk& chunk : text.chunks) {
    chunk_texts.push_back(chunk.text);
    chunk_prices.push_back(content::price_chunk(chunk.word_count, rule));
  }
  const int64_t price = std::accumulate(chunk_prices.begin(), chunk_prices.end(), int64_t{0});
  RequestCharge charge = request_charge(request, submit, reads);
  if (auto refused = charge.reserve(price, "humanize", settings_.reservation_ttl_s)) {
    return std::move(*refused);
  }

  const std::vector<integrations::ChunkOutcome> outcomes =
      humanizer_.humanize_chunks(chunk_texts, options, settings_.humanizer_parallelism);
  assert(outcomes.size() == chunk_texts.size());
  HumanizeResult result;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i].ok) {
      spdlog::warn("request_id={} chunk {}/{} failed: {}", request.request_id, i + 1,
                   outcomes.size(), outcomes[i].error);
      result.chunks_failed += 1;
      continue;  // The chunk keeps its original text and is not charged.
    }
    chunk_texts[i] = outcomes[i].text;
    result.credits_used += chunk_prices[i];
  }
  if (result.credits_used == 0) {
    release_or_log(charge, request);
    return ModelsUnavailable{};
  }
  assert(result.credits_used <= price);
  auto captured = charge.capture(result.credits_used);
  if (auto* refusal = std::get_if<Refusal>(&captured)) {
    settle_refused_capture(charge, *refusal, request);
    return std::move(*refusal);
  }
  result.credits_remaining = std::get<ledger::Outcome>(captured).credits_available;
  result.humanized_text = content::join_chunks(chunk_texts, text.chunks);
  return result;
}

std::variant<DetectResult, Refusal, ModelsUnavailable> ContentService::detect(
    const ReadConnection& reads, const CommandSubmitter& submit, const ContentRequest& request,
    const SanitizedText& text, const integrations::DetectorSelection& selection) {
  auto plan = account_plan(reads(), plans_, submit, request.account_id, request.metadata);
  if (auto* refusal = std::get_if<Refusal>(&plan)) return std::move(*refusal);
  // Priced like humanize (per chunk of at most 500 words) with the plan's detect rule.
  const content::PricingRule rule = pricing_rule(std::get<const ledger::Plan*>(plan)->detect);
  std::vector<int64_t> chunk_words;
  for (const content::TextChunk& chunk : text.chunks) chunk_words.push_back(chunk.word_count);
  const int64_t price = content::price_text(chunk_words, rule);
  RequestCharge charge = request_charge(request, submit, reads);
  if (auto refused = charge.reserve(price, "detect", settings_.reservation_ttl_s)) {
    return std::move(*refused);
  }

  DetectResult result;
  result.report = fanout_.detect(text.text, selection);
  const auto succeeded = [](const integrations::DetectorResult& detector) {
    return detector.status == integrations::DetectorStatus::kSuccess;
  };
  if (!succeeded(result.report.internal) &&
      std::none_of(result.report.detectors.begin(), result.report.detectors.end(), succeeded)) {
    release_or_log(charge, request);
    return ModelsUnavailable{};
  }
  auto captured = charge.capture(price);
  if (auto* refusal = std::get_if<Refusal>(&captured)) {
    settle_refused_capture(charge, *refusal, request);
    return std::move(*refusal);
  }
  result.credits_used = price;
  result.credits_remaining = std::get<ledger::Outcome>(captured).credits_available;
  return result;
}

}  // namespace usecases
