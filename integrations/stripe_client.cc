// Stripe Checkout Sessions over libcurl (see stripe_client.h).
#include "integrations/stripe_client.h"

#include <rapidjson/document.h>

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
  std::vector<std::pair<std::string, std::string>> form = {
      {"mode", "subscription"},
      {"line_items[0][price]", params.price_id},
      {"line_items[0][quantity]", "1"},
      {"success_url", params.success_url},
      {"cancel_url", params.cancel_url},
      {"client_reference_id", params.account_id},
      {"metadata[account_id]", params.account_id},
      {"metadata[plan_id]", params.plan_id},
      {"subscription_data[metadata][account_id]", params.account_id},
      {"subscription_data[metadata][plan_id]", params.plan_id},
  };
  if (!params.customer_id.empty()) form.emplace_back("customer", params.customer_id);
  return form;
}

CheckoutSessionResult StripeClient::create_checkout_session(
    const CheckoutSessionParams& params) const {
  assert(configured());
  assert(!params.price_id.empty() && !params.account_id.empty() && !params.plan_id.empty());
  assert(!params.success_url.empty() && !params.cancel_url.empty());
  assert(!params.idempotency_key.empty());
  HttpRequest request;
  request.method = "POST";
  request.url = join_url(settings_.api_base, kCheckoutSessionsPath);
  request.headers = {bearer_header(settings_.api_key),
                     {"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"},
                     {"Idempotency-Key", params.idempotency_key}};
  request.body = form_encode(checkout_session_form(params));
  request.connect_timeout_ms = settings_.connect_timeout_ms;
  request.timeout_ms = settings_.timeout_ms;

  const HttpResponse response = perform(request);
  if (!response.ok()) {
    return StripeFailure{StripeFailure::Kind::kUnavailable, 0, "", "",
                         std::string(failure_name(response.failure)) + ": " + response.error};
  }
  if (response.status >= 200 && response.status < 300) return session_from_answer(response);
  // 429 (rate limited, or an idempotent request still in flight) passes with time.
  if (response.status >= 500 || response.status == 429) {
    return failure_from_answer(response, StripeFailure::Kind::kUnavailable);
  }
  if (response.status >= 400) return failure_from_answer(response, StripeFailure::Kind::kRejected);
  return failure_from_answer(response, StripeFailure::Kind::kBadResponse);
}

}  // namespace integrations
