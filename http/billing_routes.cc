// The billing routes (see billing_routes.h) and LedgerService::billing_route, which
// authenticates and rate-limits the user routes before handing them over.
#include "http/billing_routes.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <functional>

#include "auth/identifiers.h"
#include "crypto/digest.h"
#include "http/read_connection.h"
#include "http/request_body.h"
#include "http/request_rules.h"
#include "ledger/time_format.h"
#include "projections/subscriptions.h"
#include "webhooks/stripe_event.h"

namespace http {
namespace {

constexpr std::size_t kPlanIdLengthMax = 64;
constexpr std::size_t kBillingCycleLengthMax = 16;
constexpr std::size_t kCurrencyLengthMax = 8;

// A short machine word for the request log (never the header itself).
std::string_view signature_log_word(webhooks::SignatureCheck check) {
  switch (check) {
    case webhooks::SignatureCheck::kValid:
      return "signature_valid";
    case webhooks::SignatureCheck::kMissingHeader:
      return "signature_missing";
    case webhooks::SignatureCheck::kMalformedHeader:
      return "signature_malformed";
    case webhooks::SignatureCheck::kNoSignatures:
      return "signature_without_v1";
    case webhooks::SignatureCheck::kTimestampOutsideTolerance:
      return "signature_timestamp_outside_tolerance";
    case webhooks::SignatureCheck::kMismatch:
      return "signature_mismatch";
  }
  return "signature_invalid";
}

// The non-empty, trimmed entries of a comma-separated list of secrets.
std::vector<std::string> split_secrets(const std::string& list) {
  std::vector<std::string> secrets;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    std::string secret = list.substr(start, comma - start);
    secret.erase(0, secret.find_first_not_of(" \t"));
    secret.erase(secret.find_last_not_of(" \t") + 1);
    if (!secret.empty()) secrets.push_back(std::move(secret));
    start = comma + 1;
  }
  return secrets;
}

// True when `signature` is `verify`'s MAC of `body` under one of `secrets`; otherwise the
// log says why not (no secret configured, no header, no match).
bool signed_by_any(const std::vector<std::string>& secrets, const std::string& signature,
                   const std::string& body,
                   bool (*verify)(std::string_view, std::string_view, std::string_view),
                   RequestLog& log) {
  const bool valid = std::any_of(secrets.begin(), secrets.end(), [&](const std::string& secret) {
    return verify(secret, body, signature);
  });
  if (!valid) {
    log.detail = secrets.empty()      ? "secret_unset"
                 : signature.empty() ? "signature_missing"
                                     : "signature_mismatch";
  }
  return valid;
}

// Runs the processing of a delivery just stored. Whatever fails, the delivery is stored: the
// inbox loop processes it after its lease, so the provider must not resend (a 200 anyway).
webhooks::ProcessingResult process_stored(
    const std::function<webhooks::ProcessingResult()>& process, const IncomingRequest& request,
    const std::string& what) {
  try {
    return process();
  } catch (const pg::Error& failure) {
    if (failure.kind() == pg::ErrorKind::kConnection) discard_thread_connection();
    spdlog::warn("request_id={} {} stored, processing deferred: {}", request.request_id, what,
                 failure.what());
  } catch (const std::exception& failure) {
    spdlog::warn("request_id={} {} stored, processing deferred: {}", request.request_id, what,
                 failure.what());
  }
  webhooks::ProcessingResult deferred;
  deferred.note = "retry_scheduled";
  return deferred;
}

// 200 {received, duplicate: false, status, note} for a delivery stored and processed.
HttpReply processed_reply(const webhooks::ProcessingResult& result) {
  return json_reply(200, JsonObject()
                             .field("received", true)
                             .field("duplicate", false)
                             .field("status", webhooks::processing_status_name(result.status))
                             .field("note", result.note)
                             .finish());
}

constexpr std::size_t kShopifyIdLengthMax = 128;

// "orders/create", "app/uninstalled": lower-case words, '/', '_' and '-' only.
bool is_shopify_topic(std::string_view topic) {
  return !topic.empty() && topic.size() <= 64 &&
         std::all_of(topic.begin(), topic.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '_' ||
                  c == '-';
         });
}

// "<name>.myshopify.com" with a lower-case DNS label as name; short enough for an account id.
bool is_myshopify_domain(std::string_view domain) {
  constexpr std::string_view kSuffix = ".myshopify.com";
  if (domain.size() <= kSuffix.size() || domain.size() > 100 || !domain.ends_with(kSuffix)) {
    return false;
  }
  const std::string_view label = domain.substr(0, domain.size() - kSuffix.size());
  return label.front() != '-' && label.back() != '-' &&
         std::all_of(label.begin(), label.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

HttpReply stripe_failure_reply(const integrations::StripeFailure& failure, int64_t retry_after_s) {
  using Kind = integrations::StripeFailure::Kind;
  switch (failure.kind) {
    case Kind::kUnavailable:
      return service_unavailable(retry_after_s);
    case Kind::kBadResponse:
      return json_error(502, "payment_provider_error", {{"provider_code", "invalid_response"}});
    case Kind::kRejected:
      break;
  }
  if (failure.type == "idempotency_error") return json_error(409, "idempotency_conflict");
  const std::string& code = !failure.code.empty() ? failure.code : failure.type;
  return json_error(502, "payment_provider_error",
                    {{"provider_code", code.empty() ? std::string_view("unknown") : code}});
}

}  // namespace

BillingRoutes::BillingRoutes(BillingSettings settings, const ledger::PlanCatalog& plans,
                             const webhooks::StripeInbox& inbox)
    : settings_(std::move(settings)),
      plans_(plans),
      inbox_(inbox),
      verifier_(settings_.stripe_webhook_secrets),
      churnkey_secrets_(split_secrets(settings_.churnkey_webhook_secrets)),
      shopify_secrets_(split_secrets(settings_.shopify_webhook_secrets)),
      stripe_(settings_.stripe) {
  assert(settings_.retry_after_s > 0);
}

HttpReply BillingRoutes::stripe_webhook(const IncomingRequest& request, RequestLog& log) const {
  const webhooks::SignatureCheck check =
      verifier_.verify(request.stripe_signature, request.body, unix_now_s());
  if (check != webhooks::SignatureCheck::kValid) {
    log.detail = std::string(signature_log_word(check));
    return json_error(400, "invalid_signature");
  }
  const webhooks::StripeEventParse parsed = webhooks::parse_stripe_event(request.body);
  if (std::holds_alternative<std::string>(parsed)) {
    log.detail = "invalid_payload";
    return json_error(400, "invalid_payload");
  }
  const webhooks::StripeEvent& event = std::get<webhooks::StripeEvent>(parsed);
  pg::Connection& connection = thread_connection(settings_.database_url);
  if (!inbox_.store(connection, event, request.body)) {
    log.detail = "duplicate";
    return json_reply(200, R"({"received":true,"duplicate":true})");
  }
  const webhooks::ProcessingResult result = process_stored(
      [&] { return inbox_.process(connection, event.id, request.request_id); }, request,
      "stripe event " + event.id);
  log.account_id = result.account_id;
  log.detail = std::string(webhooks::processing_status_name(result.status));
  spdlog::info("request_id={} stripe event {} ({}) {} {}", request.request_id, event.id, event.type,
               webhooks::processing_status_name(result.status), result.note);
  return processed_reply(result);
}

HttpReply BillingRoutes::churnkey_webhook(const IncomingRequest& request, RequestLog& log) const {
  if (!signed_by_any(churnkey_secrets_, request.churnkey_signature, request.body,
                     webhooks::verify_churnkey_hmac, log)) {
    return json_error(401, "invalid_signature");
  }
  const webhooks::ChurnkeyEventParse parsed = webhooks::parse_churnkey_event(request.body);
  if (std::holds_alternative<std::string>(parsed)) {
    log.detail = "invalid_payload";
    return json_error(400, "invalid_payload");
  }
  const webhooks::ChurnkeyEvent& event = std::get<webhooks::ChurnkeyEvent>(parsed);
  pg::Connection& connection = thread_connection(settings_.database_url);
  const std::optional<std::string> delivery_id =
      inbox_.store_churnkey(connection, event, request.body);
  if (!delivery_id) {
    log.detail = "duplicate";
    return json_reply(200, R"({"received":true,"duplicate":true})");
  }
  const webhooks::ProcessingResult result = process_stored(
      [&] { return inbox_.process_churnkey(connection, *delivery_id, request.request_id); },
      request, "churnkey delivery " + *delivery_id);
  log.account_id = result.account_id;
  log.detail = std::string(webhooks::processing_status_name(result.status));
  spdlog::info("request_id={} churnkey delivery {} ({}, {}) {} {}", request.request_id,
               *delivery_id, event.name, webhooks::to_string(event.kind),
               webhooks::processing_status_name(result.status), result.note);
  return processed_reply(result);
}

HttpReply BillingRoutes::shopify_webhook(const IncomingRequest& request, RequestLog& log) const {
  if (!signed_by_any(shopify_secrets_, request.shopify_hmac, request.body,
                     webhooks::verify_shopify_hmac, log)) {
    return json_error(401, "invalid_signature");
  }
  if (!is_shopify_topic(request.shopify_topic)) {
    return json_error(400, "invalid_request", {{"field", "X-Shopify-Topic"}});
  }
  if (!is_myshopify_domain(request.shopify_shop_domain)) {
    return json_error(400, "invalid_request", {{"field", "X-Shopify-Shop-Domain"}});
  }
  if (!auth::is_valid_idempotency_key(request.shopify_webhook_id) ||
      request.shopify_webhook_id.size() > kShopifyIdLengthMax) {
    return json_error(400, "invalid_request", {{"field", "X-Shopify-Webhook-Id"}});
  }
  if (!request.shopify_event_id.empty() &&
      (!auth::is_valid_idempotency_key(request.shopify_event_id) ||
       request.shopify_event_id.size() > kShopifyIdLengthMax)) {
    return json_error(400, "invalid_request", {{"field", "X-Shopify-Event-Id"}});
  }
  const webhooks::ShopifyEventParse parsed =
      webhooks::parse_shopify_event(request.shopify_topic, request.body);
  if (std::holds_alternative<std::string>(parsed)) {
    log.detail = "invalid_payload";
    return json_error(400, "invalid_payload");
  }
  // The headers are not signed, the body is: a body naming another shop is not this shop's,
  // and closing a shop takes a body that names it.
  const webhooks::ShopifyEvent& event = std::get<webhooks::ShopifyEvent>(parsed);
  const bool names_the_shop = event.shop_domain == request.shopify_shop_domain;
  if ((!event.shop_domain.empty() && !names_the_shop) ||
      (request.shopify_topic == "app/uninstalled" && !names_the_shop)) {
    log.detail = "shop_mismatch";
    return json_error(400, "shop_mismatch");
  }
  const webhooks::ShopifyDelivery delivery{request.shopify_topic, request.shopify_shop_domain,
                                           request.shopify_webhook_id, request.shopify_event_id};
  log.account_id = webhooks::shop_account_id(delivery.shop_domain);
  if (!inbox_.store_shopify(thread_connection(settings_.database_url), delivery, request.body)) {
    log.detail = "duplicate";
    return json_reply(200, R"({"received":true,"duplicate":true})");
  }
  log.detail = "stored";
  spdlog::info("request_id={} shopify webhook {} ({}) of {} stored", request.request_id,
               delivery.webhook_id, delivery.topic, delivery.shop_domain);
  return json_reply(200, R"({"received":true,"duplicate":false,"status":"pending"})");
}

HttpReply BillingRoutes::subscription(const std::string& account_id) const {
  const projections::subscriptions::SubscriptionView view = projections::subscriptions::read_view(
      thread_connection(settings_.database_url), account_id,
      std::string(ledger::PlanCatalog::kFreePlanId));
  const auto text_or_null = [](JsonObject& json, std::string_view name, const std::string& text) {
    if (text.empty()) {
      json.null_field(name);
    } else {
      json.field(name, text);
    }
  };
  const ledger::SubscriptionState none;
  const ledger::SubscriptionState& sub = view.subscription ? *view.subscription : none;
  JsonObject json;
  json.field("plan", view.plan_id);
  json.field("status", view.subscription ? sub.status : std::string("none"));
  if (sub.period_end_s > 0) {
    json.field("current_period_end", ledger::format_rfc3339(sub.period_end_s * 1'000'000));
  } else {
    json.null_field("current_period_end");
  }
  json.field("cancel_at_period_end", sub.cancel_at_period_end);
  text_or_null(json, "scheduled_plan", sub.scheduled_plan_id);
  text_or_null(json, "stripe_customer_id", sub.customer_id);
  text_or_null(json, "stripe_subscription_id", sub.subscription_id);
  return json_reply(200, json.finish());
}

std::string BillingRoutes::checkout_idempotency_key(const std::string& account_id,
                                                    const std::string& client_key) {
  std::string scoped = account_id;
  scoped.push_back('\n');
  scoped += client_key;
  return "checkout:" + crypto::hex_encode(crypto::sha256(scoped));
}

HttpReply BillingRoutes::checkout(const std::string& account_id, const IncomingRequest& request,
                                  RequestLog& log) const {
  std::string idempotency_key = "checkout:" + crypto::uuid_v4();
  if (request.idempotency_key) {
    if (!auth::is_valid_idempotency_key(*request.idempotency_key)) {
      return json_error(400, "invalid_idempotency_key",
                        {{"max_length", static_cast<int64_t>(auth::kIdempotencyKeyLengthMax)}});
    }
    idempotency_key = checkout_idempotency_key(account_id, *request.idempotency_key);
  }
  auto body =
      parse_json_object(request.body, false, {"plan_id", "billing_cycle", "currency", "pack_id"});
  RETURN_IF_ERROR_REPLY(body);
  const rapidjson::Document& fields = std::get<rapidjson::Document>(body);
  usecases::CheckoutChoice choice;
  if (fields.HasMember("pack_id")) {
    for (const char* subscription_only : {"plan_id", "billing_cycle"}) {
      if (fields.HasMember(subscription_only)) {
        return invalid_request(subscription_only,
                               "a pack checkout takes pack_id and currency only");
      }
    }
    auto pack_id = required_string(fields, "pack_id", kPlanIdLengthMax);
    RETURN_IF_ERROR_REPLY(pack_id);
    choice.pack_id = std::move(std::get<std::string>(pack_id));
  } else {
    auto plan_id = required_string(fields, "plan_id", kPlanIdLengthMax);
    RETURN_IF_ERROR_REPLY(plan_id);
    auto billing_cycle = required_string(fields, "billing_cycle", kBillingCycleLengthMax);
    RETURN_IF_ERROR_REPLY(billing_cycle);
    choice.plan_id = std::move(std::get<std::string>(plan_id));
    choice.billing_cycle = std::move(std::get<std::string>(billing_cycle));
  }
  auto currency = required_string(fields, "currency", kCurrencyLengthMax);
  RETURN_IF_ERROR_REPLY(currency);
  choice.currency = std::move(std::get<std::string>(currency));

  const usecases::CheckoutResult result =
      usecases::start_checkout(thread_connection(settings_.database_url), stripe_, plans_,
                               {settings_.checkout_success_url, settings_.checkout_cancel_url},
                               account_id, choice, idempotency_key);
  if (const auto* refusal = std::get_if<usecases::CheckoutRefusal>(&result)) {
    if (refusal->detail_name.empty()) return json_error(400, refusal->code);
    return json_error(400, refusal->code, {{refusal->detail_name, refusal->detail}});
  }
  if (std::holds_alternative<usecases::StripeNotConfigured>(result)) {
    log.detail = "stripe_not_configured";
    return service_unavailable(settings_.retry_after_s);
  }
  if (const auto* failure = std::get_if<integrations::StripeFailure>(&result)) {
    log.detail =
        "stripe_" + (failure->code.empty() ? std::to_string(failure->status) : failure->code);
    spdlog::warn("request_id={} stripe checkout failed: {}", request.request_id, failure->detail);
    return stripe_failure_reply(*failure, settings_.retry_after_s);
  }
  const auto& session = std::get<integrations::CheckoutSession>(result);
  return json_reply(
      200,
      JsonObject().field("checkout_url", session.url).field("session_id", session.id).finish());
}

HttpReply LedgerService::billing_route(RouteId route, const IncomingRequest& request,
                                       RequestLog& log) {
  assert(route == RouteId::kStripeWebhook || route == RouteId::kChurnkeyWebhook ||
         route == RouteId::kShopifyWebhook || route == RouteId::kBillingSubscription ||
         route == RouteId::kBillingCheckout);
  if (options_.billing == nullptr) return service_unavailable();
  const BillingRoutes& billing = *options_.billing;
  if (route == RouteId::kStripeWebhook) return billing.stripe_webhook(request, log);
  if (route == RouteId::kChurnkeyWebhook) return billing.churnkey_webhook(request, log);
  if (route == RouteId::kShopifyWebhook) return billing.shopify_webhook(request, log);
  auto principal = authenticate_user(request, log);
  RETURN_IF_ERROR_REPLY(principal);
  const Principal& caller = std::get<Principal>(principal);
  if (route == RouteId::kBillingSubscription) return billing.subscription(caller.account_id);
  return billing.checkout(caller.account_id, request, log);
}

}  // namespace http
