// The user/service credit routes: GET /api/v1/credits and the reservation lifecycle
// (reserve, capture, release). Order inside a command route: authenticate (401),
// Idempotency-Key (400), body (400), account authorization (403), rate limit (429), fields
// (400), submit; the reply of a submitted command comes from outcome_reply only.
#include <cassert>

#include "auth/identifiers.h"
#include "crypto/digest.h"
#include "http/outcome_reply.h"
#include "http/read_connection.h"
#include "http/request_body.h"
#include "http/request_rules.h"
#include "http/service.h"
#include "ledger/json_fields.h"
#include "ledger/time_format.h"
#include "projections/balances.h"
#include "projections/history.h"
#include "projections/usage.h"

namespace http {
namespace {

constexpr int64_t kHistoryPageDefault = 50;
constexpr int64_t kHistoryPageMax = 200;
constexpr int64_t kDayUs = 86'400'000'000;
constexpr int64_t kUsageDefaultDays = 30;
constexpr int64_t kUsageDaysMax = 366;

// GET /api/v1/credits: the balance, the buckets with credits left in the order they are
// spent, and the earliest expiry among them (null when none expires).
HttpReply credits_reply(const projections::balances::BalanceView& view) {
  rapidjson::StringBuffer buffer;
  ledger::json::Writer w(buffer);
  w.StartArray();
  int64_t next_expiry_us = 0;
  int64_t next_expiry_credits = 0;
  for (const ledger::CreditBucket& bucket : view.buckets) {
    if (bucket.remaining <= 0) continue;
    w.StartObject();
    ledger::json::put(w, "id", bucket.id);
    ledger::json::put(w, "source", bucket.source);
    ledger::json::put(w, "remaining", bucket.remaining);
    w.Key("expires_at");
    if (bucket.expires_at_us > 0) {
      const std::string at = ledger::format_rfc3339(bucket.expires_at_us);
      w.String(at.data(), static_cast<rapidjson::SizeType>(at.size()));
    } else {
      w.Null();
    }
    ledger::json::put(w, "priority", bucket.priority);
    w.EndObject();
    if (bucket.expires_at_us > 0 &&
        (next_expiry_us == 0 || bucket.expires_at_us < next_expiry_us)) {
      next_expiry_us = bucket.expires_at_us;
      next_expiry_credits = 0;
    }
    if (bucket.expires_at_us == next_expiry_us && next_expiry_us > 0) {
      next_expiry_credits += bucket.remaining;
    }
  }
  w.EndArray();
  JsonObject body;
  body.field("account_id", view.account_id)
      .field("plan", view.plan_id)
      .field("credits_available", view.credits_available)
      .field("credits_reserved", view.credits_reserved)
      .raw_field("buckets", std::string_view(buffer.GetString(), buffer.GetSize()));
  if (next_expiry_us > 0) {
    body.field("next_expiry", ledger::format_rfc3339(next_expiry_us));
  } else {
    body.null_field("next_expiry");
  }
  body.field("next_expiry_credits", next_expiry_credits);
  return json_reply(200, body.finish());
}

}  // namespace

// Retry-After of a GET /credits the ledger could not answer (it has no plan to refuse).
constexpr int64_t kCreditsRetryAfterS = 1;

HttpReply LedgerService::credits(const IncomingRequest& request, RequestLog& log) {
  auto principal = authenticate_user(request, log);
  RETURN_IF_ERROR_REPLY(principal);
  const Principal& caller = std::get<Principal>(principal);
  const usecases::CommandSubmitter submit = [this](ledger::Command command) {
    return submit_command(std::move(command));
  };
  auto view =
      usecases::current_credits(thread_connection(options_.database_url), submit, caller.account_id,
                                command_metadata(caller, false, request, ""));
  if (auto* refusal = std::get_if<usecases::Refusal>(&view)) {
    return refusal_reply(*refusal, kCreditsRetryAfterS);
  }
  return credits_reply(std::get<projections::balances::BalanceView>(view));
}

HttpReply LedgerService::credits_history(const IncomingRequest& request, RequestLog& log) {
  auto principal = authenticate_user(request, log);
  RETURN_IF_ERROR_REPLY(principal);
  return history_page(std::get<Principal>(principal).account_id, request);
}

HttpReply LedgerService::history_page(const std::string& account_id,
                                      const IncomingRequest& request) {
  auto limit = query_integer(request, "limit", kHistoryPageDefault, 1, kHistoryPageMax);
  RETURN_IF_ERROR_REPLY(limit);
  auto before = query_integer(request, "before", 0, 1, INT64_MAX / 2);
  RETURN_IF_ERROR_REPLY(before);
  const auto page = projections::history::read(thread_connection(options_.database_url), account_id,
                                               std::get<int64_t>(before), std::get<int64_t>(limit));
  if (!page) return json_error(404, "account_not_found");
  std::string entries = "[";
  for (const projections::history::Entry& entry : page->entries) {
    JsonObject item;
    item.field("version", entry.version)
        .field("at", ledger::format_rfc3339(entry.at_us))
        .field("type", entry.type)
        .field("amount", entry.amount);
    if (entry.type == "capture") item.field("spent", entry.spent);
    if (!entry.feature.empty()) item.field("feature", entry.feature);
    if (!entry.source.empty()) item.field("source", entry.source);
    if (!entry.reservation_id.empty()) item.field("reservation_id", entry.reservation_id);
    if (!entry.reason.empty()) item.field("reason", entry.reason);
    item.field("balance_after", entry.balance_after);
    entries += (entries.size() > 1 ? "," : "") + item.finish();
  }
  entries += ']';
  JsonObject body;
  body.field("account_id", account_id).raw_field("entries", entries);
  if (page->next_before > 0) {
    body.field("next_before", page->next_before);
  } else {
    body.null_field("next_before");
  }
  return json_reply(200, body.finish());
}

HttpReply LedgerService::credits_usage(const IncomingRequest& request, RequestLog& log) {
  auto principal = authenticate_user(request, log);
  RETURN_IF_ERROR_REPLY(principal);
  const Principal& caller = std::get<Principal>(principal);
  // Days are UTC "YYYY-MM-DD", both inclusive; by default the last 30 days.
  const int64_t now_us = unix_now_us();  // read once: two reads may straddle a microsecond
  const int64_t today_us = now_us - now_us % kDayUs;
  const auto day_param = [&request](const char* name, int64_t fallback_us) -> ReplyOr<int64_t> {
    const auto it = request.query.find(name);
    if (it == request.query.end()) return fallback_us;
    bool decoded_ok = false;
    const std::string text = percent_decode(it->second, decoded_ok);
    const auto parsed = decoded_ok && text.size() == 10
                            ? ledger::parse_rfc3339(text + "T00:00:00Z")
                            : std::nullopt;
    if (!parsed) return json_error(400, "invalid_date", {{"field", name}});
    return *parsed;
  };
  auto to = day_param("to", today_us);
  RETURN_IF_ERROR_REPLY(to);
  auto from = day_param("from", std::get<int64_t>(to) - (kUsageDefaultDays - 1) * kDayUs);
  RETURN_IF_ERROR_REPLY(from);
  const int64_t from_us = std::get<int64_t>(from);
  const int64_t to_us = std::get<int64_t>(to);
  if (from_us > to_us || to_us - from_us >= kUsageDaysMax * kDayUs) {
    return json_error(400, "invalid_range", {{"days_max", kUsageDaysMax}});
  }
  std::string group = "day";
  if (const auto it = request.query.find("group_by"); it != request.query.end()) group = it->second;
  projections::usage::GroupBy group_by = projections::usage::GroupBy::kDay;
  if (group == "feature") {
    group_by = projections::usage::GroupBy::kFeature;
  } else if (group == "day_and_feature") {
    group_by = projections::usage::GroupBy::kDayAndFeature;
  } else if (group != "day") {
    return json_error(400, "invalid_group_by", {{"field", "group_by"}});
  }
  const std::string from_day = projections::usage::day_of(from_us);
  const std::string to_day = projections::usage::day_of(to_us);
  const auto rows = projections::usage::read(thread_connection(options_.database_url),
                                             caller.account_id, from_day, to_day, group_by);
  std::string usage = "[";
  int64_t total = 0;
  for (const projections::usage::Row& row : rows) {
    JsonObject item;
    if (!row.day.empty()) item.field("day", row.day);
    if (!row.feature.empty()) item.field("feature", row.feature);
    item.field("credits", row.credits);
    usage += (usage.size() > 1 ? "," : "") + item.finish();
    total += row.credits;
  }
  usage += ']';
  JsonObject body;
  body.field("account_id", caller.account_id)
      .field("from", from_day)
      .field("to", to_day)
      .field("group_by", group)
      .field("total", total)
      .raw_field("usage", usage);
  return json_reply(200, body.finish());
}

Handled LedgerService::reserve(const IncomingRequest& request, RequestLog& log) {
  auto principal = authenticate_request(request, log);
  RETURN_IF_ERROR_REPLY(principal);
  auto key = client_idempotency_key(request);
  RETURN_IF_ERROR_REPLY(key);
  auto body =
      parse_json_object(request.body, false, {"amount", "feature", "ttl_seconds", "account_id"});
  RETURN_IF_ERROR_REPLY(body);
  const rapidjson::Document& fields = std::get<rapidjson::Document>(body);
  auto account = credits_account(std::get<Principal>(principal), fields);
  RETURN_IF_ERROR_REPLY(account);
  const std::string& account_id = std::get<std::string>(account);
  log.account_id = account_id;
  if (auto limited = rate_limit(account_id)) return std::move(*limited);

  auto amount = required_amount(fields, "amount");
  RETURN_IF_ERROR_REPLY(amount);
  auto feature = required_string(fields, "feature", 64);
  RETURN_IF_ERROR_REPLY(feature);
  auto ttl = optional_integer(fields, "ttl_seconds", 1, ledger::kReservationTtlMaxS);
  RETURN_IF_ERROR_REPLY(ttl);

  // The ledger opens an unknown account (free plan) as part of an accepted reservation, when
  // the caller may open accounts.
  const auto metadata =
      command_metadata(std::get<Principal>(principal), false, request, std::get<std::string>(key));
  ledger::ReserveCredits command;
  command.amount = std::get<int64_t>(amount);
  command.feature = std::move(std::get<std::string>(feature));
  command.ttl_s =
      std::get<std::optional<int64_t>>(ttl).value_or(options_.reservation_ttl_default_s);
  command.reservation_id = "res_" + crypto::uuid_v4();
  ledger::Command reservation{account_id, std::get<std::string>(key), std::move(command), metadata};
  // A user opens their own account; a service key opens one only with scope open_accounts.
  const Principal& caller = std::get<Principal>(principal);
  reservation.may_open_account = caller.is_user() || caller.has_scope(auth::kScopeOpenAccounts);
  return DeferredCommand{RouteId::kReserve, std::move(reservation)};
}

Handled LedgerService::settle(RouteId route, const std::string& reservation_id,
                              const IncomingRequest& request, RequestLog& log) {
  assert(route == RouteId::kCapture || route == RouteId::kRelease);
  const bool capture = route == RouteId::kCapture;
  auto principal = authenticate_request(request, log);
  RETURN_IF_ERROR_REPLY(principal);
  // The Idempotency-Key is optional here: without it, the same settlement sent again is
  // the same command (implicit_idempotency_key).
  auto client_key = optional_client_idempotency_key(request);
  RETURN_IF_ERROR_REPLY(client_key);
  auto body = capture ? parse_json_object(request.body, false, {"amount", "account_id"})
                      : parse_json_object(request.body, true, {"account_id"});
  RETURN_IF_ERROR_REPLY(body);
  const rapidjson::Document& fields = std::get<rapidjson::Document>(body);
  auto account = credits_account(std::get<Principal>(principal), fields);
  RETURN_IF_ERROR_REPLY(account);
  const std::string& account_id = std::get<std::string>(account);
  log.account_id = account_id;
  if (auto limited = rate_limit(account_id)) return std::move(*limited);

  const std::optional<std::string>& sent_key = std::get<std::optional<std::string>>(client_key);
  ledger::CommandBody command;
  std::string key;
  if (capture) {
    auto amount = required_amount(fields, "amount");
    RETURN_IF_ERROR_REPLY(amount);
    const int64_t credits = std::get<int64_t>(amount);
    command = ledger::CaptureReservation{reservation_id, credits};
    key = sent_key ? *sent_key
                   : implicit_idempotency_key("capture", {reservation_id, std::to_string(credits)});
  } else {
    command = ledger::ReleaseReservation{reservation_id};
    key = sent_key ? *sent_key : implicit_idempotency_key("release", {reservation_id});
  }
  // An id no reservation can have is unknown: answered without a round trip to the ledger.
  if (!auth::is_valid_reservation_id(reservation_id))
    return json_error(404, "reservation_not_found");
  const auto metadata = command_metadata(std::get<Principal>(principal), false, request, key);
  ledger::Command settlement{account_id, std::move(key), std::move(command), metadata};
  settlement.record_refusals = sent_key.has_value();
  return DeferredCommand{route, std::move(settlement)};
}

}  // namespace http
