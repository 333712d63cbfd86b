// The e-mails the ledger sends: outbox handlers (ledger/outbox.h) that compose a message
// from an outbox payload and the account's address, and send it over SMTP.
//
// The address is the latest plain address the account's Stripe deliveries give
// (webhooks::read_customer_email). No usable address yet, a refused or unreachable server:
// the handler fails and the outbox retries with backoff up to its attempt limit. Each
// message carries the outbox message id as its Message-ID, so a resend after a crash
// between sending and marking is recognisable as the same message.
#pragma once

#include <string>

#include "integrations/smtp_client.h"
#include "ledger/outbox.h"
#include "ledger/pg.h"

namespace notifications {

inline constexpr const char* kPaymentFailedKind = "email.payment_failed";

struct EmailSettings {
  integrations::SmtpSettings smtp;
  pg::ConnectionOptions database;  // where the address is read
};

// The payment-failed e-mail to `to` for the outbox payload written by the billing rules
// (account_id, subscription_id, invoice_id, stripe_event_id). Pure.
integrations::EmailMessage payment_failed_message(const std::string& message_id,
                                                  const std::string& to,
                                                  const std::string& payload_json);

// The outbox handler of kPaymentFailedKind. Runs on the outbox deliverer's thread; keeps one
// database connection between calls.
ledger::OutboxHandler payment_failed_email(EmailSettings settings);

}  // namespace notifications
