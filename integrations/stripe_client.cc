// Stripe Checkout Sessions over libcurl (see stripe_client.h).
#include "integrations/stripe_client.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cassert>

#include "integrations/provider_json.h"

namespace integrations {
namespace {

constexpr std::string_view kCheckoutSessionsPath = "/v1/checkout/sessions";

std::string string_member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return {};
  const auto member = object.FindMember(name);
  if (member == object.MemberEnd() || !member->value.IsString()) return {};
  return std::string(member->value.GetString(), member->value.GetStringLength());
}

// Stripe's error body: {"error": {"type", "code", "message", "param", ...}}.
StripeFailure failure_from_answer(const HttpResponse& response, StripeFailure::Kind kind) {
  StripeFailure failure;
  failure.kind = kind;
  failure.status = response.status;
  rapidjson::Document document;
  if (parse_json(response.body, document).empty() && document.IsObject() &&
      document.HasMember("error")) {
    const rapidjson::Value& error = document["error"];
    failure.type = string_member(error, "type");
    failure.code = string_member(error, "code");
  }
  failure.detail = describe_http_error(response);
  return failure;
}

CheckoutSessionResult session_from_answer(const HttpResponse& response) {
  rapidjson::Document document;
  if (!parse_json(response.body, document).empty() || !document.IsObject()) {
    return StripeFailure{StripeFailure::Kind::kBadResponse, response.status, "", "",
                         "answer is not a JSON object"};
  }
  CheckoutSession session{string_member(document, "id"), string_member(document, "url")};
  if (session.id.empty() || session.url.empty()) {
    return StripeFailure{StripeFailure::Kind::kBadResponse, response.status, "", "",
                         "answer has no session id or url"};
  }
  return session;
}

}  // namespace

StripeClient::StripeClient(StripeClientSettings settings) : settings_(std::move(settings)) {
  assert(settings_.connect_timeout_ms >= 1 && settings_.connect_timeout_ms <= kTimeoutMsMax);
  assert(settings_.timeout_ms >= 1 && settings_.timeout_ms <= kTimeoutMsMax);
}

std::vector<std::pair<std::string, std::string>> StripeClient::checkout_session_form(
    const CheckoutSessionParams& params) {
  // A subscription names its plan on the session and the subscription; a pack names itself
  // on the session and its payment intent.
  const bool pack = !params.pack_id.empty();
  const std::string item = pack ? "pack_id" : "plan_id";
  const std::string& item_id = pack ? params.pack_id : params.plan_id;
  const std::string nested = pack ? "payment_intent_data" : "subscription_data";
  std::vector<std::pair<std::string, std::string>> form = {
      {"mode", pack ? "payment" : "subscription"},
      {"line_items[0][price]", params.price_id},
      {"line_items[0][quantity]", "1"},
      {"success_url", params.success_url},
      {"cancel_url", params.cancel_url},
      {"client_reference_id", params.account_id},
      {"metadata[account_id]", params.account_id},
      {"metadata[" + item + "]", item_id},
      {nested + "[metadata][account_id]", params.account_id},
      {nested + "[metadata][" + item + "]", item_id},
  };
  if (!params.customer_id.empty()) form.emplace_back("customer", params.customer_id);
  return form;
}

CheckoutSessionResult StripeClient::create_checkout_session(
    const CheckoutSessionParams& params) const {
  assert(configured());
  assert(!params.price_id.empty() && !params.account_id.empty());
  assert(params.plan_id.empty() != params.pack_id.empty());
  assert(!params.success_url.empty() && !params.cancel_url.empty());
  assert(!params.idempotency_key.empty());
  auto answer = post_form(kCheckoutSessionsPath, checkout_session_form(params),
                          params.idempotency_key);
  if (auto* failure = std::get_if<StripeFailure>(&answer)) return std::move(*failure);
  return session_from_answer(std::get<HttpResponse>(answer));
}

std::optional<StripeFailure> StripeClient::cancel_at_period_end(
    const std::string& subscription_id, const std::string& idempotency_key) const {
  assert(configured() && !idempotency_key.empty());
  const bool stripe_id =
      !subscription_id.empty() && subscription_id.size() <= 255 &&
      std::all_of(subscription_id.begin(), subscription_id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
      });
  if (!stripe_id) {
    return StripeFailure{StripeFailure::Kind::kRejected, 0, "", "invalid_subscription_id",
                         "not a Stripe subscription id"};
  }
  auto answer = post_form("/v1/subscriptions/" + subscription_id,
                          {{"cancel_at_period_end", "true"}}, idempotency_key);
  if (auto* failure = std::get_if<StripeFailure>(&answer)) return std::move(*failure);
  return std::nullopt;
}

std::variant<HttpResponse, StripeFailure> StripeClient::post_form(
    std::string_view path, const std::vector<std::pair<std::string, std::string>>& form,
    const std::string& idempotency_key) const {
  HttpRequest request;
  request.method = "POST";
  request.url = join_url(settings_.api_base, path);
  request.headers = {bearer_header(settings_.api_key),
                     {"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"},
                     {"Idempotency-Key", idempotency_key}};
  request.body = form_encode(form);
  request.connect_timeout_ms = settings_.connect_timeout_ms;
  request.timeout_ms = settings_.timeout_ms;

  HttpResponse response = perform(request);
  if (!response.ok()) {
    return StripeFailure{StripeFailure::Kind::kUnavailable, 0, "", "",
                         std::string(failure_name(response.failure)) + ": " + response.error};
  }
  if (response.status >= 200 && response.status < 300) return response;
  // 429 (rate limited, or an idempotent request still in flight) passes with time.
  if (response.status >= 500 || response.status == 429) {
    return failure_from_answer(response, StripeFailure::Kind::kUnavailable);
  }
  if (response.status >= 400) return failure_from_answer(response, StripeFailure::Kind::kRejected);
  return failure_from_answer(response, StripeFailure::Kind::kBadResponse);
}

}  // namespace integrations
