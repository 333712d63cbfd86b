// The content routes of ledgerd: POST /api/v1/humanize and POST /api/v1/detect (seed flows,
// DESIGN.md "HTTP API"). They own request validation and the replies; pricing from the
// account's plan and the two-phase debit around the model calls are usecases::ContentService:
//
//   validate -> price -> RESERVE the price (402 before any model call) -> call the models
//   -> CAPTURE the price of what succeeded (the rest of the reservation is released by the
//   capture) or, when nothing succeeded, RELEASE everything and answer 503.
//
// So a request is charged at most once, and only for work that was delivered. A request
// that dies between reserve and settle (crash, ledger unreachable) leaves an open
// reservation that the ledger's sweeper releases at its expiry: never a charge.
//
// Idempotency: every ledger command of one request derives its key from one base. With an
// `Idempotency-Key` header the base is the client key (so a retried request replays the
// first reservation and its capture instead of charging again; the same key with another
// price is 409 idempotency_conflict); without one it is a random UUID, i.e. each request
// is a new charge. Authentication (user JWT only), rate limiting and the per-account cap on
// concurrent humanize/detect requests (429 before any reservation) happen before, in
// LedgerService::content_route.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <variant>

#include "http/auth.h"
#include "http/json_reply.h"
#include "http/service.h"
#include "integrations/detectors.h"
#include "integrations/humanizer.h"
#include "ledger/commands.h"
#include "ledger/plans.h"
#include "usecases/content.h"

namespace http {

// How the handlers reach the ledger: LedgerService::submit_command (a bounded wait).
using usecases::CommandSubmitter;

struct ContentSettings {
  std::string database_url;           // The reads of the use cases (plan, reservations).
  usecases::ContentSettings service;  // parallelism, the reservation's lifetime
  int64_t retry_after_s = 30;         // Of the 503 when no chunk / no detector succeeded.
};

class ContentHandlers {
 public:
  // Preconditions: every plan's pricing rules are valid content::PricingRule values (the
  // plan catalog guarantees it), the reservation outlives both model deadlines.
  ContentHandlers(ContentSettings settings, ledger::PlanCatalog plans,
                  integrations::HumanizerSettings humanizer,
                  integrations::InternalDetectorSettings internal_detector,
                  integrations::DetectorsConfig detectors);

  // POST /api/v1/humanize {text, mode?, readability?, purpose?} for the user `caller`.
  // 200 {humanized_text, credits_used, credits_remaining, word_count, processing_time_ms}.
  // Chunks the humanizer failed on keep their original (sanitised) text and are not
  // charged; when every chunk failed: 503 service_unavailable {retry_after}, no charge.
  // Errors: 400 invalid_json / invalid_request {field, message[, allowed]} /
  // text_too_short {min_words} / text_too_long {max_words} / invalid_idempotency_key,
  // 402 insufficient_credits {credits_needed, credits_available}, 409 from the ledger,
  // 503. Blocking (model calls); thread-safe.
  HttpReply humanize(const Principal& caller, const IncomingRequest& request,
                     const CommandSubmitter& submit, RequestLog& log) const;

  // POST /api/v1/detect {text, detectors?} for the user `caller`. `detectors` names the
  // external detectors to ask (default: every enabled one); an unknown name is 400 with
  // the allowed names. 200 {overall_score, verdict, internal_score, detectors{name:{score,
  // status, latency_ms[, reason]}}, credits_used, credits_remaining, processing_time_ms};
  // scores of failed detectors are null and excluded from overall_score. Charged in full
  // when at least one detector (the internal one included) succeeded; otherwise 503
  // service_unavailable {retry_after}, no charge. Errors as humanize. Thread-safe.
  HttpReply detect(const Principal& caller, const IncomingRequest& request,
                   const CommandSubmitter& submit, RequestLog& log);

 private:
  // This thread's read connection, asked for at each read.
  usecases::ReadConnection reads() const;
  usecases::ContentRequest content_request(const Principal& caller, const IncomingRequest& request,
                                           std::string key_base) const;
  // The reply of a refusal (a plan missing from the plans file is logged as the deployment
  // error it is).
  HttpReply refused(const usecases::Refusal& refusal, const Principal& caller,
                    const IncomingRequest& request) const;

  const ContentSettings settings_;
  usecases::ContentService service_;
};

// Loads the detectors file. A missing file at the default path (`path_is_default`) is not
// an error: ledgerd then runs with the internal detector only, and says so in the log.
// Returns the error text for an unreadable or invalid file.
std::variant<integrations::DetectorsConfig, std::string> load_detectors_file(
    const std::string& path, bool path_is_default);

}  // namespace http
