// The e-mails the ledger sends: outbox handlers (ledger/outbox.h) that compose a message
// from an outbox payload and the account's address, and send it over SMTP.
//
// The address is the latest plain address the account's Stripe deliveries give
// (webhooks::read_customer_email). No usable address yet, a refused or unreachable server:
// the handler fails and the outbox retries with backoff up to its attempt limit. Each
// message carries the outbox message id as its Message-ID, so a resend after a crash
// between sending and marking is recognisable as the same message.
#pragma once

#include <map>
#include <string>

#include "integrations/smtp_client.h"
#include "ledger/commands.h"
#include "ledger/outbox.h"
#include "ledger/pg.h"

namespace notifications {

inline constexpr const char* kPaymentFailedKind = "email.payment_failed";
inline constexpr const char* kCancellationConfirmedKind = ledger::kCancellationConfirmedKind;
inline constexpr const char* kLowBalanceKind = ledger::kLowBalanceKind;

struct EmailSettings {
  integrations::SmtpSettings smtp;
  pg::ConnectionOptions database;  // where the address is read
};

// The payment-failed e-mail to `to` for the outbox payload written by the billing rules
// (account_id, subscription_id, invoice_id, stripe_event_id). Pure.
integrations::EmailMessage payment_failed_message(const std::string& message_id,
                                                  const std::string& to,
                                                  const std::string& payload_json);

// The cancellation confirmation to `to` for the outbox payload written with a Churnkey
// cancellation (account_id, subscription_id, period_end_s). Pure.
integrations::EmailMessage cancellation_confirmed_message(const std::string& message_id,
                                                          const std::string& to,
                                                          const std::string& payload_json);

// The low-balance warning to `to` for the outbox payload of ledger::kLowBalanceKind
// (account_id, plan_id, credits_available, threshold). Pure.
integrations::EmailMessage low_balance_message(const std::string& message_id,
                                               const std::string& to,
                                               const std::string& payload_json);

// Composes one e-mail from (message id, address, payload).
using EmailComposer = integrations::EmailMessage (*)(const std::string&, const std::string&,
                                                     const std::string&);

// The outbox handler that sends `kind`'s e-mails composed by `compose`. Runs on the outbox
// deliverer's thread; keeps one database connection between calls.
ledger::OutboxHandler email_handler(EmailSettings settings, const char* kind,
                                    EmailComposer compose);

// The handlers of every e-mail kind, by kind.
std::map<std::string, ledger::OutboxHandler> email_handlers(const EmailSettings& settings);

}  // namespace notifications
