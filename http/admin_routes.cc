// The admin routes (API key with scope `admin`): grants and refunds on an account, its
// event log page by page (versions, hashes, payloads), its balance at an instant folded
// from the events, and the audit console's reads (history, stream verification, the
// newest digest).
#include <spdlog/spdlog.h>

#include <cassert>
#include <climits>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/digest.h"
#include "audit/verify.h"
#include "crypto/digest.h"
#include "http/console_assets.h"
#include "http/outcome_reply.h"
#include "http/read_connection.h"
#include "http/request_body.h"
#include "http/request_rules.h"
#include "http/service.h"
#include "ledger/store.h"
#include "ledger/time_format.h"
#include "projections/balances.h"

namespace http {
namespace {

constexpr int64_t kEventsPageDefault = 100;
constexpr int64_t kEventsPageMax = 500;

std::string event_json(const ledger::StoredEvent& event) {
  return JsonObject()
      .field("stream_version", event.stream_version)
      .field("global_position", event.global_position)
      .field("event_id", event.event_id)
      .field("type", event.event_type)
      .raw_field("payload", event.payload)
      .raw_field("metadata", event.metadata)
      .field("recorded_at", ledger::format_rfc3339(event.recorded_at_us))
      .field("hash", crypto::hex_encode(event.hash))
      .finish();
}

// The bucket terms of an admin grant: source admin (default) or promotional, an optional
// RFC 3339 expires_at in the future, an optional priority 0..100 (lower spent first).
ReplyOr<ledger::GrantCredits> grant_terms(const rapidjson::Value& fields) {
  ledger::GrantCredits credits;
  auto source = optional_string(fields, "source");
  RETURN_IF_ERROR_REPLY(source);
  if (const auto& value = std::get<std::optional<std::string>>(source)) {
    if (*value != ledger::kBucketAdmin && *value != ledger::kBucketPromotional) {
      return invalid_request("source", "must be admin or promotional");
    }
    credits.source = *value;
  }
  auto expires_at = optional_string(fields, "expires_at");
  RETURN_IF_ERROR_REPLY(expires_at);
  if (const auto& value = std::get<std::optional<std::string>>(expires_at)) {
    const std::optional<int64_t> at_us = ledger::parse_rfc3339(*value);
    if (!at_us) return invalid_request("expires_at", "must be an RFC 3339 timestamp");
    if (*at_us <= ledger::unix_now_us()) {
      return invalid_request("expires_at", "must be in the future");
    }
    credits.expires_at_us = *at_us;
  }
  auto priority = optional_integer(fields, "priority", 0, ledger::kBucketPriorityMax);
  RETURN_IF_ERROR_REPLY(priority);
  credits.priority =
      std::get<std::optional<int64_t>>(priority).value_or(ledger::kBucketPriorityDefault);
  return credits;
}

}  // namespace

Handled LedgerService::grant_or_refund(RouteId route, const std::string& account_id,
                                       const IncomingRequest& request, RequestLog& log) {
  assert(route == RouteId::kGrant || route == RouteId::kRefund);
  const bool grant = route == RouteId::kGrant;
  auto principal = authenticate_admin(request, account_id, log);
  RETURN_IF_ERROR_REPLY(principal);
  // A grant needs an Idempotency-Key. A refund may leave it out: it is then idempotent by its
  // reference, amount and reason (implicit_idempotency_key), and a reference used with other
  // terms is still refund_reference_used.
  if (grant && !request.idempotency_key) return json_error(400, "idempotency_key_required");
  auto client_key = optional_client_idempotency_key(request);
  RETURN_IF_ERROR_REPLY(client_key);
  auto body = grant ? parse_json_object(request.body, false,
                                        {"amount", "reason", "source", "expires_at", "priority"})
                    : parse_json_object(request.body, false, {"amount", "reason", "reference"});
  RETURN_IF_ERROR_REPLY(body);
  const rapidjson::Document& fields = std::get<rapidjson::Document>(body);
  auto amount = required_amount(fields, "amount");
  RETURN_IF_ERROR_REPLY(amount);
  auto reason = required_string(fields, "reason");
  RETURN_IF_ERROR_REPLY(reason);
  auto reference =
      grant ? ReplyOr<std::string>(std::string()) : required_string(fields, "reference");
  RETURN_IF_ERROR_REPLY(reference);
  const std::optional<std::string>& sent_key = std::get<std::optional<std::string>>(client_key);
  std::string key =
      sent_key ? *sent_key
               : implicit_idempotency_key("refund", {std::get<std::string>(reference),
                                                     std::to_string(std::get<int64_t>(amount)),
                                                     std::get<std::string>(reason)});

  const auto metadata = command_metadata(std::get<Principal>(principal), true, request, key);
  ledger::CommandBody command;
  if (grant) {
    auto terms = grant_terms(fields);
    RETURN_IF_ERROR_REPLY(terms);
    ledger::GrantCredits credits = std::get<ledger::GrantCredits>(std::move(terms));
    credits.amount = std::get<int64_t>(amount);
    credits.reason = std::get<std::string>(reason);
    // The ledger opens an unknown account (free plan) as part of an accepted grant.
    command = std::move(credits);
  } else {
    if (!projections::balances::read(thread_connection(options_.database_url), account_id)) {
      return json_error(404, "account_not_found");
    }
    command = ledger::RefundCredits{std::get<int64_t>(amount), std::get<std::string>(reason),
                                    std::get<std::string>(reference)};
  }
  ledger::Command admin_command{account_id, std::move(key), std::move(command), metadata};
  admin_command.record_refusals = sent_key.has_value();
  return DeferredCommand{route, std::move(admin_command)};
}

Handled LedgerService::reopen(const std::string& account_id, const IncomingRequest& request,
                              RequestLog& log) {
  auto principal = authenticate_admin(request, account_id, log);
  RETURN_IF_ERROR_REPLY(principal);
  auto key = client_idempotency_key(request);
  RETURN_IF_ERROR_REPLY(key);
  auto body = parse_json_object(request.body, false, {"reason"});
  RETURN_IF_ERROR_REPLY(body);
  auto reason = required_string(std::get<rapidjson::Document>(body), "reason");
  RETURN_IF_ERROR_REPLY(reason);
  if (!projections::balances::read(thread_connection(options_.database_url), account_id)) {
    return json_error(404, "account_not_found");
  }
  const auto metadata =
      command_metadata(std::get<Principal>(principal), true, request, std::get<std::string>(key));
  ledger::Command command{account_id, std::get<std::string>(key),
                          ledger::ReopenAccount{std::get<std::string>(reason)}, metadata};
  command.may_open_account = false;
  return DeferredCommand{RouteId::kReopen, std::move(command)};
}

HttpReply LedgerService::events(const std::string& account_id, const IncomingRequest& request,
                                RequestLog& log) {
  auto principal = authenticate_admin(request, account_id, log);
  RETURN_IF_ERROR_REPLY(principal);
  auto after = query_integer(request, "after_version", 0, 0, INT64_MAX / 2);
  RETURN_IF_ERROR_REPLY(after);
  auto limit = query_integer(request, "limit", kEventsPageDefault, 1, kEventsPageMax);
  RETURN_IF_ERROR_REPLY(limit);

  const std::vector<ledger::StoredEvent> page =
      ledger::read_stream(thread_connection(options_.database_url), account_id,
                          std::get<int64_t>(after), std::get<int64_t>(limit));
  assert(page.size() <= static_cast<std::size_t>(std::get<int64_t>(limit)));
  // A stream with no events is no account (as on the balance, history and verify routes);
  // an account's page past its last event is empty.
  if (page.empty() &&
      (std::get<int64_t>(after) == 0 ||
       ledger::read_stream(thread_connection(options_.database_url), account_id, 0, 1).empty())) {
    return json_error(404, "account_not_found");
  }
  std::string events_array = "[";
  for (const ledger::StoredEvent& event : page) {
    if (events_array.size() > 1) events_array += ',';
    events_array += event_json(event);
  }
  events_array += ']';
  JsonObject body;
  body.field("account_id", account_id).raw_field("events", events_array);
  // A full page may have a successor; a short page is the end of the stream for now.
  if (!page.empty() && page.size() == static_cast<std::size_t>(std::get<int64_t>(limit))) {
    body.field("next_after_version", page.back().stream_version);
  } else {
    body.null_field("next_after_version");
  }
  return json_reply(200, body.finish());
}

HttpReply LedgerService::balance(const std::string& account_id, const IncomingRequest& request,
                                 RequestLog& log) {
  auto principal = authenticate_admin(request, account_id, log);
  RETURN_IF_ERROR_REPLY(principal);
  int64_t as_of_us = unix_now_us();
  if (const auto it = request.query.find("as_of"); it != request.query.end()) {
    bool decoded_ok = false;
    const std::string text = percent_decode(it->second, decoded_ok);
    const auto parsed = decoded_ok ? ledger::parse_rfc3339(text) : std::nullopt;
    if (!parsed) return json_error(400, "invalid_timestamp", {{"field", "as_of"}});
    as_of_us = *parsed;
  }
  const auto state =
      ledger::fold_stream(thread_connection(options_.database_url), account_id, as_of_us);
  if (!state) return json_error(404, "account_not_found");
  int64_t open_reservations = 0;
  for (const auto& [id, reservation] : state->reservations) {
    if (reservation.status == ledger::ReservationStatus::kOpen) ++open_reservations;
  }
  return json_reply(200, JsonObject()
                             .field("account_id", account_id)
                             .field("as_of", ledger::format_rfc3339(as_of_us))
                             .field("plan", state->plan_id)
                             .field("credits_available", state->credits_available)
                             .field("credits_reserved", state->credits_reserved)
                             .field("credits_granted", state->credits_granted)
                             .field("credits_spent", state->credits_spent)
                             .field("credits_expired", state->credits_expired)
                             .field("open_reservations", open_reservations)
                             .field("version", state->version)
                             .finish());
}

}  // namespace http

namespace http {

HttpReply LedgerService::admin_history(const std::string& account_id,
                                       const IncomingRequest& request, RequestLog& log) {
  auto principal = authenticate_admin(request, account_id, log);
  RETURN_IF_ERROR_REPLY(principal);
  return history_page(account_id, request);
}

HttpReply LedgerService::verify_account(const std::string& account_id,
                                        const IncomingRequest& request, RequestLog& log) {
  auto principal = authenticate_admin(request, account_id, log);
  RETURN_IF_ERROR_REPLY(principal);
  const audit::VerifyReport report =
      audit::verify_stream(thread_connection(options_.database_url), account_id);
  if (report.clean && report.streams_checked == 0) return json_error(404, "account_not_found");
  JsonObject body;
  body.field("account_id", account_id)
      .field("clean", report.clean)
      .field("events_checked", report.events_checked);
  if (report.clean) {
    body.null_field("problem").null_field("stream_version");
  } else {
    body.field("problem", report.problem).field("stream_version", report.stream_version);
  }
  return json_reply(200, body.finish());
}

HttpReply LedgerService::console_file(const IncomingRequest& request) {
  if (request.method != "GET") {
    HttpReply reply = json_error(405, "method_not_allowed");
    reply.allow = "GET";
    return reply;
  }
  if (request.path == "/admin") {  // relative asset paths need the directory form
    HttpReply reply;
    reply.status = 308;
    reply.content_type = "text/plain";
    reply.headers.emplace_back("Location", "/admin/");
    return reply;
  }
  const std::string_view name = request.path == "/admin/"
                                    ? std::string_view("index.html")
                                    : std::string_view(request.path).substr(7);
  for (const ConsoleAsset& asset : console_assets()) {
    if (asset.name != name) continue;
    HttpReply reply;
    reply.body = std::string(asset.content);
    reply.content_type = std::string(asset.content_type);
    // The page runs only its own script and talks only to this ledgerd.
    reply.headers = {{"Content-Security-Policy",
                      "default-src 'none'; script-src 'self'; style-src 'self'; "
                      "connect-src 'self'; img-src 'self'; form-action 'none'; "
                      "frame-ancestors 'none'; base-uri 'none'"},
                     {"X-Content-Type-Options", "nosniff"},
                     {"Referrer-Policy", "no-referrer"},
                     {"Cache-Control", "no-store"}};
    return reply;
  }
  return json_error(404, "not_found");
}

HttpReply LedgerService::latest_digest(const IncomingRequest& request, RequestLog& log) {
  auto principal = authenticate_request(request, log);
  RETURN_IF_ERROR_REPLY(principal);
  if (!std::get<Principal>(principal).has_scope(auth::kScopeAdmin)) return forbidden();
  if (options_.digest_dir.empty()) return json_error(404, "no_digest");
  const std::optional<std::string> path = audit::latest_digest_file(options_.digest_dir);
  if (!path) return json_error(404, "no_digest");
  std::ifstream file(*path);
  std::stringstream text;
  text << file.rdbuf();
  const auto parsed = audit::parse_digest(text.str());
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    spdlog::error("digest file {} is malformed: {}", *path, *error);
    return json_error(500, "internal_error", {{"request_id", request.request_id}});
  }
  const audit::Digest& digest = std::get<audit::Digest>(parsed);
  return json_reply(200, JsonObject()
                             .field("file", std::filesystem::path(*path).filename().string())
                             .raw_field("digest", audit::digest_json(digest))
                             .finish());
}

}  // namespace http
