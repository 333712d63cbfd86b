// Outbox e-mails (notifications/emails.h).
#include "notifications/emails.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

#include "ledger/json_fields.h"
#include "ledger/time_format.h"
#include "webhooks/inbox_reads.h"

namespace notifications {
namespace {

namespace json = ledger::json;

// Beyond this (year 9999) an instant has no four-digit year.
constexpr int64_t kUnixSecondsMax = 253'402'300'799;

struct HandlerState {
  explicit HandlerState(EmailSettings email_settings)
      : settings(std::move(email_settings)), connection(settings.database) {}
  EmailSettings settings;
  std::mutex mutex;  // the deliverer calls from one thread; this keeps a copy safe too
  pg::LazyConnection connection;
};

std::optional<std::string> account_address(HandlerState& state, const std::string& account_id) {
  try {
    return webhooks::read_customer_email(state.connection.get(), account_id,
                                         integrations::is_plain_email_address);
  } catch (const pg::Error& error) {
    if (error.kind() == pg::ErrorKind::kConnection) state.connection.reset();
    throw;
  }
}

}  // namespace

integrations::EmailMessage payment_failed_message(const std::string& message_id,
                                                  const std::string& to,
                                                  const std::string& payload_json) {
  rapidjson::Document payload;
  payload.Parse(payload_json.data(), payload_json.size());
  const std::string invoice = json::get_string(payload, "invoice_id").value_or("");
  const std::string account = json::get_string(payload, "account_id").value_or("");
  return {
      to, "Your payment did not go through",
      "Hello,\n"
      "\n"
      "we could not collect the payment for your subscription" +
          (invoice.empty() ? std::string() : " (invoice " + invoice + ")") +
          ". Stripe will try again over the next days; to keep your plan and its credits, please\n"
          "check the payment method in your billing settings.\n"
          "\n"
          "Account: " +
          account + "\n",
      message_id};
}

integrations::EmailMessage cancellation_confirmed_message(const std::string& message_id,
                                                          const std::string& to,
                                                          const std::string& payload_json) {
  rapidjson::Document payload;
  payload.Parse(payload_json.data(), payload_json.size());
  const std::string account = json::get_string(payload, "account_id").value_or("");
  const int64_t period_end_s = json::get_int64(payload, "period_end_s").value_or(0);
  // The date of the RFC 3339 instant ("2026-12-30T08:00:00Z" -> "2026-12-30").
  const std::string until =
      period_end_s > 0 && period_end_s < kUnixSecondsMax
          ? ledger::format_rfc3339(period_end_s * 1'000'000).substr(0, 10) + " (UTC)"
          : std::string("the end of the current billing period");
  return {to, "Your subscription has been cancelled",
          "Hello,\n"
          "\n"
          "as you asked, your subscription will not renew. It stays active, with its credits,\n"
          "until " +
              until +
              "; after that the account moves to the free plan.\n"
              "\n"
              "Account: " +
              account + "\n",
          message_id};
}

integrations::EmailMessage low_balance_message(const std::string& message_id,
                                               const std::string& to,
                                               const std::string& payload_json) {
  rapidjson::Document payload;
  payload.Parse(payload_json.data(), payload_json.size());
  const std::string account = json::get_string(payload, "account_id").value_or("");
  const int64_t available = json::get_int64(payload, "credits_available").value_or(0);
  const int64_t threshold = json::get_int64(payload, "threshold").value_or(0);
  return {to, "Your credits are running low",
          "Hello,\n"
          "\n"
          "your account has " +
              std::to_string(available) + " credits left, below the " +
              std::to_string(threshold) +
              " at which we promised to tell you. To keep\n"
              "humanizing and detecting without a pause, upgrade your plan or wait for the next\n"
              "period's credits.\n"
              "\n"
              "Account: " +
              account + "\n",
          message_id};
}

ledger::OutboxHandler email_handler(EmailSettings settings, const char* kind,
                                    EmailComposer compose) {
  auto state = std::make_shared<HandlerState>(std::move(settings));
  return [state, kind, compose](const std::string& message_id, const std::string& account_id,
                                const std::string& payload_json) -> std::string {
    std::lock_guard lock(state->mutex);
    const std::optional<std::string> address = account_address(*state, account_id);
    if (!address) return "no e-mail address known for the account yet";
    std::string error =
        integrations::send_email(state->settings.smtp, compose(message_id, *address, payload_json));
    if (error.empty()) {
      spdlog::info("email {} sent: message={} account={}", kind, message_id, account_id);
    }
    return error;
  };
}

std::map<std::string, ledger::OutboxHandler> email_handlers(const EmailSettings& settings) {
  return {{kPaymentFailedKind, email_handler(settings, kPaymentFailedKind, payment_failed_message)},
          {kCancellationConfirmedKind,
           email_handler(settings, kCancellationConfirmedKind, cancellation_confirmed_message)},
          {kLowBalanceKind, email_handler(settings, kLowBalanceKind, low_balance_message)}};
}

}  // namespace notifications
