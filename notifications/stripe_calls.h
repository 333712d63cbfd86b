// The Stripe calls the ledger makes from its outbox (ledger/outbox.h): today, setting
// cancel_at_period_end on a subscription after a Churnkey cancellation
// (ledger::kStripeCancelAtPeriodEndKind). Stripe's answer decides the outcome: 2xx
// delivered; timeouts, connection failures, 5xx and 429 retried with the outbox's backoff;
// any other 4xx given up at once and kept for operators with Stripe's error in last_error.
// The Idempotency-Key comes from the payload (derived from the Churnkey delivery), so a
// retry or a second ledgerd never makes Stripe act twice.
#pragma once

#include "integrations/stripe_client.h"
#include "ledger/outbox.h"

namespace notifications {

// The outbox handler of ledger::kStripeCancelAtPeriodEndKind.
ledger::OutboxHandler stripe_cancel_at_period_end(integrations::StripeClientSettings settings);

}  // namespace notifications
