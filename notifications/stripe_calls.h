// The Stripe calls the ledger makes from its outbox (ledger/outbox.h): today, setting
// cancel_at_period_end on a subscription after a Churnkey cancellation
// (ledger::kStripeCancelAtPeriodEndKind). Stripe's answer decides the outcome: 2xx
// delivered; timeouts, connection failures, 5xx, 429, 401/403 (a key being rotated) and 409
// (the same key still in flight) retried with the outbox's backoff; any other 4xx (the
// request itself is wrong, e.g. no such subscription) given up at once and kept for
// operators with Stripe's error in last_error. The Idempotency-Key comes from the payload
// (derived from the Churnkey delivery): within Stripe's 24-hour idempotency window a retry
// or a second ledgerd does not make Stripe act twice, and setting the flag again later is
// harmless.
#pragma once

#include "integrations/stripe_client.h"
#include "ledger/outbox.h"

namespace notifications {

// The outbox handler of ledger::kStripeCancelAtPeriodEndKind.
ledger::OutboxHandler stripe_cancel_at_period_end(integrations::StripeClientSettings settings);

}  // namespace notifications
