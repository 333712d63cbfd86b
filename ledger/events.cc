// Canonical JSON encoding and decoding of ledger events (ledger/events.h).
#include "ledger/events.h"

#include <rapidjson/document.h>

#include "ledger/json_fields.h"

namespace ledger {
namespace {

using json::get_int64;
using json::get_string;
using json::put;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

void write_fields(json::Writer& w, const AccountOpened& e) { put(w, "plan_id", e.plan_id); }
void write_fields(json::Writer& w, const CreditsGranted& e) {
  put(w, "amount", e.amount);
  put(w, "reason", e.reason);
  put(w, "source", e.source);
  put(w, "period_key", e.period_key);
  if (e.bucket_id.empty()) return;  // only replays of events recorded before buckets
  put(w, "bucket_id", e.bucket_id);
  put(w, "expires_at_us", e.expires_at_us);
  put(w, "priority", e.priority);
  if (!e.reference.empty()) put(w, "reference", e.reference);
}
void write_draws(json::Writer& w, const std::vector<BucketDraw>& draws) {
  w.Key("draws");
  w.StartArray();
  for (const BucketDraw& draw : draws) {
    w.StartObject();
    put(w, "bucket_id", draw.bucket_id);
    put(w, "amount", draw.amount);
    w.EndObject();
  }
  w.EndArray();
}
void write_fields(json::Writer& w, const CreditsReserved& e) {
  put(w, "reservation_id", e.reservation_id);
  put(w, "amount", e.amount);
  put(w, "feature", e.feature);
  put(w, "expires_at_us", e.expires_at_us);
  if (e.draws) write_draws(w, *e.draws);
}
void write_fields(json::Writer& w, const ReservationCaptured& e) {
  put(w, "reservation_id", e.reservation_id);
  put(w, "amount_captured", e.amount_captured);
  put(w, "amount_released", e.amount_released);
}
void write_fields(json::Writer& w, const ReservationReleased& e) {
  put(w, "reservation_id", e.reservation_id);
  put(w, "amount", e.amount);
}
void write_fields(json::Writer& w, const ReservationExpired& e) {
  put(w, "reservation_id", e.reservation_id);
  put(w, "amount", e.amount);
}
void write_fields(json::Writer& w, const CreditsRefunded& e) {
  put(w, "amount", e.amount);
  put(w, "reason", e.reason);
  put(w, "reference", e.reference);
  if (!e.bucket_id.empty()) put(w, "bucket_id", e.bucket_id);
}
void write_fields(json::Writer& w, const CreditsExpired& e) {
  put(w, "amount", e.amount);
  put(w, "reason", e.reason);
  if (!e.bucket_id.empty()) put(w, "bucket_id", e.bucket_id);
}
void write_fields(json::Writer& w, const CreditsRevoked& e) {
  put(w, "amount", e.amount);
  put(w, "reason", e.reason);
  put(w, "bucket_id", e.bucket_id);
  put(w, "reference", e.reference);
  put(w, "target", e.target);
}
void write_fields(json::Writer& w, const PlanChanged& e) {
  put(w, "plan_id", e.plan_id);
  put(w, "reason", e.reason);
}

void write_fields(json::Writer& w, const SubscriptionChanged& e) {
  put(w, "subscription_id", e.subscription_id);
  put(w, "customer_id", e.customer_id);
  put(w, "status", e.status);
  put(w, "plan_id", e.plan_id);
  put(w, "scheduled_plan_id", e.scheduled_plan_id);
  put(w, "period_start_s", e.period_start_s);
  put(w, "period_end_s", e.period_end_s);
  put(w, "cancel_at_period_end", e.cancel_at_period_end);
  put(w, "stripe_event_id", e.stripe_event_id);
  put(w, "stripe_event_created_s", e.stripe_event_created_s);
}

void write_fields(json::Writer& w, const ChurnkeySessionRecorded& e) {
  put(w, "delivery_id", e.delivery_id);
  put(w, "event_name", e.event_name);
  put(w, "result", e.result);
  put(w, "session_id", e.session_id);
  put(w, "offer_type", e.offer_type);
  put(w, "survey_response", e.survey_response);
  put(w, "feedback", e.feedback);
  put(w, "test_mode", e.test_mode);
  put(w, "action", e.action);
}

void write_fields(json::Writer& w, const AccountClosed& e) { put(w, "reason", e.reason); }

void write_fields(json::Writer& w, const AccountReopened& e) { put(w, "reason", e.reason); }

void write_fields(json::Writer& w, const ShopifyWebhookRecorded& e) {
  put(w, "webhook_id", e.webhook_id);
  put(w, "event_id", e.event_id);
  put(w, "topic", e.topic);
  put(w, "shop_id", e.shop_id);
  put(w, "customer_id", e.customer_id);
  put(w, "action", e.action);
}

void write_fields(json::Writer& w, const PersonalDataErased& e) {
  put(w, "scope", e.scope);
  put(w, "customer_id", e.customer_id);
  put(w, "deliveries", e.deliveries);
  put(w, "requested_by", e.requested_by);
}

// Decoders: each returns nullopt when a field is missing or of the wrong type.
std::optional<EventBody> read_account_opened(const rapidjson::Value& v) {
  auto plan_id = get_string(v, "plan_id");
  if (!plan_id) return std::nullopt;
  return AccountOpened{*plan_id};
}
std::optional<EventBody> read_credits_granted(const rapidjson::Value& v) {
  auto amount = get_int64(v, "amount");
  auto reason = get_string(v, "reason");
  auto source = get_string(v, "source");
  auto period_key = get_string(v, "period_key");
  if (!amount || !reason || !source || !period_key) return std::nullopt;
  CreditsGranted e{*amount, *reason, *source, *period_key};
  if (!v.HasMember("bucket_id")) return e;  // recorded before buckets
  auto bucket_id = get_string(v, "bucket_id");
  auto expires = get_int64(v, "expires_at_us");
  auto priority = get_int64(v, "priority");
  if (!bucket_id || bucket_id->empty() || !expires || !priority) return std::nullopt;
  e.bucket_id = std::move(*bucket_id);
  e.expires_at_us = *expires;
  e.priority = *priority;
  if (v.HasMember("reference")) {
    auto reference = get_string(v, "reference");
    if (!reference || reference->empty()) return std::nullopt;
    e.reference = std::move(*reference);
  }
  return e;
}
// The optional bucket_id of a debit or refund: "" when absent, nullopt when malformed.
std::optional<std::string> read_bucket_id(const rapidjson::Value& v) {
  if (!v.HasMember("bucket_id")) return std::string();
  auto bucket_id = get_string(v, "bucket_id");
  if (!bucket_id || bucket_id->empty()) return std::nullopt;
  return bucket_id;
}
std::optional<EventBody> read_credits_reserved(const rapidjson::Value& v) {
  auto id = get_string(v, "reservation_id");
  auto amount = get_int64(v, "amount");
  auto feature = get_string(v, "feature");
  auto expires = get_int64(v, "expires_at_us");
  if (!id || !amount || !feature || !expires) return std::nullopt;
  CreditsReserved e{*id, *amount, *feature, *expires, std::nullopt};
  if (!v.HasMember("draws")) return e;  // recorded before buckets
  const rapidjson::Value& draws = v["draws"];
  if (!draws.IsArray()) return std::nullopt;
  e.draws.emplace();
  for (const rapidjson::Value& draw : draws.GetArray()) {
    if (!draw.IsObject()) return std::nullopt;
    auto bucket_id = get_string(draw, "bucket_id");
    auto drawn = get_int64(draw, "amount");
    if (!bucket_id || !drawn) return std::nullopt;
    e.draws->push_back({std::move(*bucket_id), *drawn});
  }
  return e;
}
std::optional<EventBody> read_reservation_captured(const rapidjson::Value& v) {
  auto id = get_string(v, "reservation_id");
  auto captured = get_int64(v, "amount_captured");
  auto released = get_int64(v, "amount_released");
  if (!id || !captured || !released) return std::nullopt;
  return ReservationCaptured{*id, *captured, *released};
}
template <class Settled>
std::optional<EventBody> read_reservation_settled(const rapidjson::Value& v) {
  auto id = get_string(v, "reservation_id");
  auto amount = get_int64(v, "amount");
  if (!id || !amount) return std::nullopt;
  return Settled{*id, *amount};
}
std::optional<EventBody> read_credits_refunded(const rapidjson::Value& v) {
  auto amount = get_int64(v, "amount");
  auto reason = get_string(v, "reason");
  auto reference = get_string(v, "reference");
  auto bucket_id = read_bucket_id(v);
  if (!amount || !reason || !reference || !bucket_id) return std::nullopt;
  return CreditsRefunded{*amount, *reason, *reference, *bucket_id};
}
std::optional<EventBody> read_credits_expired(const rapidjson::Value& v) {
  auto amount = get_int64(v, "amount");
  auto reason = get_string(v, "reason");
  auto bucket_id = read_bucket_id(v);
  if (!amount || !reason || !bucket_id) return std::nullopt;
  return CreditsExpired{*amount, *reason, *bucket_id};
}
std::optional<EventBody> read_plan_changed(const rapidjson::Value& v) {
  auto plan_id = get_string(v, "plan_id");
  auto reason = get_string(v, "reason");
  if (!plan_id || !reason) return std::nullopt;
  return PlanChanged{*plan_id, *reason};
}

std::optional<EventBody> read_subscription_changed(const rapidjson::Value& v) {
  SubscriptionChanged e;
  auto subscription_id = get_string(v, "subscription_id");
  auto customer_id = get_string(v, "customer_id");
  auto status = get_string(v, "status");
  auto plan_id = get_string(v, "plan_id");
  auto scheduled = get_string(v, "scheduled_plan_id");
  auto start = get_int64(v, "period_start_s");
  auto end = get_int64(v, "period_end_s");
  auto cancel = json::get_bool(v, "cancel_at_period_end");
  auto event_id = get_string(v, "stripe_event_id");
  auto created = get_int64(v, "stripe_event_created_s");
  if (!subscription_id || !customer_id || !status || !plan_id || !scheduled || !start || !end ||
      !cancel || !event_id || !created) {
    return std::nullopt;
  }
  return SubscriptionChanged{*subscription_id, *customer_id, *status, *plan_id, *scheduled,
                             *start, *end, *cancel, *event_id, *created};
}

// Reads every named string member into its field; false when one is missing.
bool read_strings(const rapidjson::Value& v,
                  std::initializer_list<std::pair<const char*, std::string*>> fields) {
  for (auto [name, field] : fields) {
    auto value = get_string(v, name);
    if (!value) return false;
    *field = std::move(*value);
  }
  return true;
}

std::optional<EventBody> read_credits_revoked(const rapidjson::Value& v) {
  CreditsRevoked e;
  if (!read_strings(
          v, {{"reason", &e.reason}, {"bucket_id", &e.bucket_id}, {"reference", &e.reference}})) {
    return std::nullopt;
  }
  auto amount = get_int64(v, "amount");
  auto target = get_int64(v, "target");
  if (!amount || !target) return std::nullopt;
  e.amount = *amount;
  e.target = *target;
  return e;
}
std::optional<EventBody> read_churnkey_session_recorded(const rapidjson::Value& v) {
  ChurnkeySessionRecorded e;
  if (!read_strings(v, {{"delivery_id", &e.delivery_id},
                        {"event_name", &e.event_name},
                        {"result", &e.result},
                        {"session_id", &e.session_id},
                        {"offer_type", &e.offer_type},
                        {"survey_response", &e.survey_response},
                        {"feedback", &e.feedback},
                        {"action", &e.action}})) {
    return std::nullopt;
  }
  auto test_mode = json::get_bool(v, "test_mode");
  if (!test_mode) return std::nullopt;
  e.test_mode = *test_mode;
  return e;
}

std::optional<EventBody> read_account_closed(const rapidjson::Value& v) {
  auto reason = get_string(v, "reason");
  if (!reason) return std::nullopt;
  return AccountClosed{*reason};
}

std::optional<EventBody> read_account_reopened(const rapidjson::Value& v) {
  auto reason = get_string(v, "reason");
  if (!reason) return std::nullopt;
  return AccountReopened{*reason};
}

std::optional<EventBody> read_shopify_webhook_recorded(const rapidjson::Value& v) {
  ShopifyWebhookRecorded e;
  if (!read_strings(v, {{"webhook_id", &e.webhook_id},
                        {"event_id", &e.event_id},
                        {"topic", &e.topic},
                        {"shop_id", &e.shop_id},
                        {"customer_id", &e.customer_id},
                        {"action", &e.action}})) {
    return std::nullopt;
  }
  return e;
}

std::optional<EventBody> read_personal_data_erased(const rapidjson::Value& v) {
  PersonalDataErased e;
  if (!read_strings(v, {{"scope", &e.scope},
                        {"customer_id", &e.customer_id},
                        {"requested_by", &e.requested_by}})) {
    return std::nullopt;
  }
  auto deliveries = get_int64(v, "deliveries");
  if (!deliveries) return std::nullopt;
  e.deliveries = *deliveries;
  return e;
}

}  // namespace

std::string_view event_type_name(const EventBody& event) {
  return std::visit(
      Overloaded{
          [](const AccountOpened&) { return std::string_view("AccountOpened"); },
          [](const CreditsGranted&) { return std::string_view("CreditsGranted"); },
          [](const CreditsReserved&) { return std::string_view("CreditsReserved"); },
          [](const ReservationCaptured&) { return std::string_view("ReservationCaptured"); },
          [](const ReservationReleased&) { return std::string_view("ReservationReleased"); },
          [](const ReservationExpired&) { return std::string_view("ReservationExpired"); },
          [](const CreditsRefunded&) { return std::string_view("CreditsRefunded"); },
          [](const CreditsExpired&) { return std::string_view("CreditsExpired"); },
          [](const PlanChanged&) { return std::string_view("PlanChanged"); },
          [](const SubscriptionChanged&) { return std::string_view("SubscriptionChanged"); },
          [](const ChurnkeySessionRecorded&) {
            return std::string_view("ChurnkeySessionRecorded");
          },
          [](const AccountClosed&) { return std::string_view("AccountClosed"); },
          [](const ShopifyWebhookRecorded&) { return std::string_view("ShopifyWebhookRecorded"); },
          [](const PersonalDataErased&) { return std::string_view("PersonalDataErased"); },
          [](const AccountReopened&) { return std::string_view("AccountReopened"); },
          [](const CreditsRevoked&) { return std::string_view("CreditsRevoked"); },
      },
      event);
}

std::string encode_event_payload(const EventBody& event) {
  return json::object_text([&event](json::Writer& writer) {
    std::visit([&writer](const auto& e) { write_fields(writer, e); }, event);
  });
}

namespace {

// The event a parsed payload holds (`type_name` its type), or nullopt.
template <class Document>
std::optional<EventBody> decode_document(std::string_view type_name, const Document& document) {
  if (document.HasParseError() || !document.IsObject()) return std::nullopt;
  if (type_name == "AccountOpened") return read_account_opened(document);
  if (type_name == "CreditsGranted") return read_credits_granted(document);
  if (type_name == "CreditsReserved") return read_credits_reserved(document);
  if (type_name == "ReservationCaptured") return read_reservation_captured(document);
  if (type_name == "ReservationReleased") {
    return read_reservation_settled<ReservationReleased>(document);
  }
  if (type_name == "ReservationExpired") return read_reservation_settled<ReservationExpired>(document);
  if (type_name == "CreditsRefunded") return read_credits_refunded(document);
  if (type_name == "CreditsExpired") return read_credits_expired(document);
  if (type_name == "PlanChanged") return read_plan_changed(document);
  if (type_name == "SubscriptionChanged") return read_subscription_changed(document);
  if (type_name == "ChurnkeySessionRecorded") return read_churnkey_session_recorded(document);
  if (type_name == "AccountClosed") return read_account_closed(document);
  if (type_name == "ShopifyWebhookRecorded") return read_shopify_webhook_recorded(document);
  if (type_name == "PersonalDataErased") return read_personal_data_erased(document);
  if (type_name == "AccountReopened") return read_account_reopened(document);
  if (type_name == "CreditsRevoked") return read_credits_revoked(document);
  return std::nullopt;
}

}  // namespace

std::optional<EventBody> decode_event(std::string_view type_name, std::string_view payload_json) {
  return json::parse_scratch(payload_json, [type_name](const auto& document) {
    return decode_document(type_name, document);
  });
}

std::string encode_event_metadata(const EventMetadata& metadata) {
  return json::object_text([&metadata](json::Writer& writer) {
    put(writer, "actor", metadata.actor);
    put(writer, "source", metadata.source);
    put(writer, "correlation_id", metadata.correlation_id);
    put(writer, "causation_id", metadata.causation_id);
    put(writer, "idempotency_key", metadata.idempotency_key);
  });
}

}  // namespace ledger
