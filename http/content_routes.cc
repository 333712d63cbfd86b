// POST /api/v1/humanize and POST /api/v1/detect: request parsing and the reply bodies
// around usecases::ContentService (pricing, reserve -> models -> capture/release). The
// entry point LedgerService::content_route (authentication, rate limit, the per-account concurrency
// cap) is defined here too, like the other route groups of LedgerService.
#include "http/content_routes.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <cassert>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "content/request_rules.h"
#include "content/text.h"
#include "crypto/digest.h"
#include "http/outcome_reply.h"
#include "http/read_connection.h"
#include "http/request_body.h"
#include "http/request_rules.h"

namespace http {
namespace {

using Clock = std::chrono::steady_clock;
using integrations::DetectorResult;
using integrations::DetectorStatus;

constexpr std::size_t kDetectorNameLengthMax = 64;

int64_t elapsed_ms(Clock::time_point started) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
}

template <typename Names>
std::string json_string_array(const Names& names) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartArray();
  for (const auto& name : names) {
    const std::string_view text(name);
    writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// 400 invalid_request {field, message, allowed[, unknown]}: a value outside a fixed set.
HttpReply invalid_choice(std::string_view field, std::string_view message,
                         const std::string& allowed_json, const std::string& unknown_json = "") {
  JsonObject body;
  body.field("error", "invalid_request").field("field", field).field("message", message);
  body.raw_field("allowed", allowed_json);
  if (!unknown_json.empty()) body.raw_field("unknown", unknown_json);
  HttpReply reply;
  reply.status = 400;
  reply.body = body.finish();
  return reply;
}

// A score with one decimal as a JSON number ("23.5"), or null.
std::string score_json(std::optional<double> score) {
  if (!score.has_value()) return "null";
  assert(*score >= 0.0 && *score <= 100.0);
  char text[16];
  std::snprintf(text, sizeof text, "%.1f", *score);
  return text;
}

std::optional<double> success_score(const DetectorResult& result) {
  if (result.status != DetectorStatus::kSuccess) return std::nullopt;
  return result.score;
}

using usecases::SanitizedText;

// Reads "text": a JSON string, sanitised (content::sanitize_text), of kMinWords..kMaxWords
// words, then chunked on sentence boundaries. Words are maximal runs of non-whitespace, so
// text written without spaces (Chinese, Japanese) counts one word per run: accepted as is;
// such texts are charged less per character than spaced scripts.
ReplyOr<SanitizedText> read_text(const rapidjson::Value& body) {
  const auto member = body.FindMember("text");
  if (member == body.MemberEnd()) return invalid_request("text", "required");
  if (!member->value.IsString()) return invalid_request("text", "must be a string");
  SanitizedText text;
  text.text = content::sanitize_text(
      std::string_view(member->value.GetString(), member->value.GetStringLength()));
  text.word_count = content::count_words(text.text);
  switch (content::check_word_count(text.word_count)) {
    case content::WordCountCheck::kTooShort:
      return json_error(400, "text_too_short", {{"min_words", content::kMinWords}});
    case content::WordCountCheck::kTooLong:
      return json_error(400, "text_too_long", {{"max_words", content::kMaxWords}});
    case content::WordCountCheck::kOk:
      break;
  }
  text.chunks = content::split_into_chunks(text.text);
  assert(!text.chunks.empty());
  return text;
}

// An optional string option whose value must be one of `allowed`; `fallback` when absent.
ReplyOr<std::string> read_option(const rapidjson::Value& body, std::string_view field,
                                 std::span<const std::string_view> allowed,
                                 std::string_view fallback) {
  const auto member = body.FindMember(
      rapidjson::Value(field.data(), static_cast<rapidjson::SizeType>(field.size())));
  if (member == body.MemberEnd()) return std::string(fallback);
  if (!member->value.IsString()) return invalid_request(field, "must be a string");
  const std::string_view value(member->value.GetString(), member->value.GetStringLength());
  if (!content::is_allowed(allowed, value)) {
    return invalid_choice(field, "must be one of the allowed values", json_string_array(allowed));
  }
  return std::string(value);
}

ReplyOr<content::HumanizeOptions> read_humanize_options(const rapidjson::Value& body) {
  content::HumanizeOptions options;
  auto mode = read_option(body, "mode", content::kModes, content::kDefaultMode);
  RETURN_IF_ERROR_REPLY(mode);
  auto readability =
      read_option(body, "readability", content::kReadabilities, content::kDefaultReadability);
  RETURN_IF_ERROR_REPLY(readability);
  auto purpose = read_option(body, "purpose", content::kPurposes, content::kDefaultPurpose);
  RETURN_IF_ERROR_REPLY(purpose);
  options.mode = std::move(std::get<std::string>(mode));
  options.readability = std::move(std::get<std::string>(readability));
  options.purpose = std::move(std::get<std::string>(purpose));
  return options;
}

// "detectors": absent or null = every enabled detector; else an array of configured names.
ReplyOr<integrations::DetectorSelection> read_selection(
    const rapidjson::Value& body, const integrations::DetectorFanout& fanout) {
  const auto member = body.FindMember("detectors");
  if (member == body.MemberEnd() || member->value.IsNull()) {
    return integrations::DetectorSelection();
  }
  const rapidjson::Value& value = member->value;
  if (!value.IsArray() || value.Size() > integrations::kDetectorsMax) {
    return invalid_request("detectors", "must be an array of at most 32 detector names");
  }
  std::vector<std::string> names;
  for (const rapidjson::Value& name : value.GetArray()) {
    if (!name.IsString() || name.GetStringLength() == 0 ||
        name.GetStringLength() > kDetectorNameLengthMax) {
      return invalid_request("detectors", "must be an array of detector names");
    }
    names.emplace_back(name.GetString(), name.GetStringLength());
  }
  const std::vector<std::string> unknown = fanout.unknown_names(names);
  if (!unknown.empty()) {
    std::vector<std::string_view> allowed;
    for (const auto& detector : fanout.config().detectors) allowed.push_back(detector.name);
    return invalid_choice("detectors", "unknown detector", json_string_array(allowed),
                          json_string_array(unknown));
  }
  return integrations::DetectorSelection(std::move(names));
}

// The base of the request's ledger keys (see content_routes.h): the client's
// Idempotency-Key when given (400 when malformed), else a fresh UUID.
ReplyOr<std::string> ledger_key_base(const IncomingRequest& request, std::string_view route) {
  if (!request.idempotency_key.has_value()) {
    return std::string(route) + ":" + crypto::uuid_v4();
  }
  auto key = client_idempotency_key(request);
  RETURN_IF_ERROR_REPLY(key);
  return std::get<std::string>(key) + "#" + std::string(route);
}

std::string detectors_json(const std::vector<DetectorResult>& results) {
  JsonObject detectors;
  for (const DetectorResult& result : results) {
    JsonObject entry;
    entry.raw_field("score", score_json(success_score(result)))
        .field("status", integrations::detector_status_name(result.status))
        .field("latency_ms", result.latency_ms);
    // Skip reasons are ours (length limits, disabled); error texts may quote a provider and
    // stay in the log.
    if (result.status == DetectorStatus::kSkipped) entry.field("reason", result.reason);
    detectors.raw_field(result.name, entry.finish());
  }
  return detectors.finish();
}

}  // namespace

ContentHandlers::ContentHandlers(ContentSettings settings, ledger::PlanCatalog plans,
                                 integrations::HumanizerSettings humanizer,
                                 integrations::InternalDetectorSettings internal_detector,
                                 integrations::DetectorsConfig detectors)
    : settings_(std::move(settings)),
      service_(settings_.service, std::move(plans), std::move(humanizer),
               std::move(internal_detector), std::move(detectors)) {
  assert(settings_.retry_after_s > 0);
}

usecases::ReadConnection ContentHandlers::reads() const {
  return [url = settings_.database_url]() -> pg::Connection& { return thread_connection(url); };
}

usecases::ContentRequest ContentHandlers::content_request(const Principal& caller,
                                                          const IncomingRequest& request,
                                                          std::string key_base) const {
  return {caller.account_id, command_metadata(caller, false, request, ""), std::move(key_base),
          request.request_id};
}

HttpReply ContentHandlers::refused(const usecases::Refusal& refusal, const Principal& caller,
                                   const IncomingRequest& request) const {
  if (const auto* unknown = std::get_if<usecases::UnknownPlan>(&refusal)) {
    // The ledger names a plan the plans file no longer defines: a deployment error.
    spdlog::error("request_id={} account {} is on plan \"{}\", missing from the plans file",
                  request.request_id, caller.account_id, unknown->plan_id);
  }
  return refusal_reply(refusal, settings_.retry_after_s);
}

HttpReply ContentHandlers::humanize(const Principal& caller, const IncomingRequest& request,
                                    const CommandSubmitter& submit, RequestLog& log) const {
  const Clock::time_point started = Clock::now();
  auto key_base = ledger_key_base(request, "humanize");
  RETURN_IF_ERROR_REPLY(key_base);
  auto body = parse_json_object(request.body, false, {"text", "mode", "readability", "purpose"});
  RETURN_IF_ERROR_REPLY(body);
  const rapidjson::Document& fields = std::get<rapidjson::Document>(body);
  auto text_or = read_text(fields);
  RETURN_IF_ERROR_REPLY(text_or);
  auto options = read_humanize_options(fields);
  RETURN_IF_ERROR_REPLY(options);
  const SanitizedText& text = std::get<SanitizedText>(text_or);

  auto humanized = service_.humanize(
      reads(), submit, content_request(caller, request, std::move(std::get<std::string>(key_base))),
      text, std::get<content::HumanizeOptions>(options));
  if (auto* refusal = std::get_if<usecases::Refusal>(&humanized)) {
    return refused(*refusal, caller, request);
  }
  if (std::holds_alternative<usecases::ModelsUnavailable>(humanized)) {
    log.detail = "humanizer_unavailable";
    return service_unavailable(settings_.retry_after_s);
  }
  const usecases::HumanizeResult& result = std::get<usecases::HumanizeResult>(humanized);
  if (result.chunks_failed > 0) log.detail = "chunks_failed";
  return json_reply(200, JsonObject()
                             .field("humanized_text", result.humanized_text)
                             .field("credits_used", result.credits_used)
                             .field("credits_remaining", result.credits_remaining)
                             .field("word_count", text.word_count)
                             .field("processing_time_ms", elapsed_ms(started))
                             .finish());
}

HttpReply ContentHandlers::detect(const Principal& caller, const IncomingRequest& request,
                                  const CommandSubmitter& submit, RequestLog& log) {
  const Clock::time_point started = Clock::now();
  auto key_base = ledger_key_base(request, "detect");
  RETURN_IF_ERROR_REPLY(key_base);
  auto body = parse_json_object(request.body, false, {"text", "detectors"});
  RETURN_IF_ERROR_REPLY(body);
  const rapidjson::Document& fields = std::get<rapidjson::Document>(body);
  auto text_or = read_text(fields);
  RETURN_IF_ERROR_REPLY(text_or);
  auto selection = read_selection(fields, service_.fanout());
  RETURN_IF_ERROR_REPLY(selection);
  const SanitizedText& text = std::get<SanitizedText>(text_or);

  auto detected = service_.detect(
      reads(), submit, content_request(caller, request, std::move(std::get<std::string>(key_base))),
      text, std::get<integrations::DetectorSelection>(selection));
  if (auto* refusal = std::get_if<usecases::Refusal>(&detected)) {
    return refused(*refusal, caller, request);
  }
  if (std::holds_alternative<usecases::ModelsUnavailable>(detected)) {
    log.detail = "detectors_unavailable";
    return service_unavailable(settings_.retry_after_s);
  }
  const usecases::DetectResult& result = std::get<usecases::DetectResult>(detected);
  const integrations::DetectionReport& report = result.report;
  return json_reply(200,
                    JsonObject()
                        .raw_field("overall_score", score_json(report.aggregate.overall_score))
                        .field("verdict", integrations::verdict_name(report.aggregate.verdict))
                        .raw_field("internal_score", score_json(success_score(report.internal)))
                        .raw_field("detectors", detectors_json(report.detectors))
                        .field("credits_used", result.credits_used)
                        .field("credits_remaining", result.credits_remaining)
                        .field("processing_time_ms", elapsed_ms(started))
                        .finish());
}

std::variant<integrations::DetectorsConfig, std::string> load_detectors_file(
    const std::string& path, bool path_is_default) {
  std::error_code error;
  if (path_is_default && !std::filesystem::exists(path, error)) {
    spdlog::warn(
        "no detectors file at {}: external detectors are off, the internal detector "
        "answers alone",
        path);
    return integrations::DetectorsConfig();
  }
  integrations::DetectorsConfigResult loaded = integrations::load_detectors_config(path);
  if (!loaded.ok()) return std::move(loaded.error);
  return std::move(*loaded.config);
}

HttpReply LedgerService::content_route(RouteId route, const IncomingRequest& request,
                                       RequestLog& log) {
  assert(route == RouteId::kHumanize || route == RouteId::kDetect);
  auto principal = authenticate_user(request, log);
  RETURN_IF_ERROR_REPLY(principal);
  const Principal& caller = std::get<Principal>(principal);  // charged to the JWT subject
  if (content_ == nullptr) return service_unavailable();
  // Held until the reply is built; taken before the account is read or anything reserved,
  // so a refused request costs the ledger nothing.
  const auto permit = content_in_flight_.try_acquire(caller.account_id);
  if (!permit) {
    log.detail = "content_concurrency_exceeded";
    return rate_limit_exceeded(options_.content_busy_retry_after_s);
  }
  const CommandSubmitter submit = [this](ledger::Command command) {
    return submit_command(std::move(command));
  };
  if (route == RouteId::kHumanize) return content_->humanize(caller, request, submit, log);
  return content_->detect(caller, request, submit, log);
}

}  // namespace http
