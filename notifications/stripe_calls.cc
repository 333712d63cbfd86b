// Outbox Stripe calls (notifications/stripe_calls.h).
#include "notifications/stripe_calls.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "ledger/json_fields.h"

namespace notifications {
namespace {

std::string describe(const integrations::StripeFailure& failure) {
  std::string text = "stripe";
  if (failure.status != 0) text += " " + std::to_string(failure.status);
  if (!failure.type.empty()) text += " " + failure.type;
  if (!failure.code.empty()) text += " " + failure.code;
  if (!failure.detail.empty()) text += ": " + failure.detail;
  return text;
}

}  // namespace

ledger::OutboxHandler stripe_cancel_at_period_end(integrations::StripeClientSettings settings) {
  auto client = std::make_shared<const integrations::StripeClient>(std::move(settings));
  return [client](const std::string& message_id, const std::string& account_id,
                  const std::string& payload_json) -> ledger::OutboxResult {
    rapidjson::Document payload;
    payload.Parse(payload_json.data(), payload_json.size());
    const std::string subscription_id =
        ledger::json::get_string(payload, "subscription_id").value_or("");
    const std::string idempotency_key =
        ledger::json::get_string(payload, "idempotency_key").value_or("");
    if (subscription_id.empty() || idempotency_key.empty()) {
      return ledger::OutboxResult::give_up("the message names no subscription or key");
    }
    if (!client->configured()) return "STRIPE_API_KEY is not set";
    const auto failure = client->cancel_at_period_end(subscription_id, idempotency_key);
    if (!failure) {
      spdlog::info("outbox {}: stripe subscription {} of account {} cancels at period end",
                   message_id, subscription_id, account_id);
      return "";
    }
    const bool retry_later =
        failure->status == 401 || failure->status == 403 || failure->status == 409;
    if (failure->kind == integrations::StripeFailure::Kind::kRejected && !retry_later) {
      return ledger::OutboxResult::give_up(describe(*failure));
    }
    return describe(*failure);
  };
}

}  // namespace notifications
