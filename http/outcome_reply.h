// The one place that maps ledger outcomes to HTTP: rejections to status codes and error
// bodies, successes to each route's body, and the use cases' refusals and missing outcomes
// to their replies. A reply is a pure function of (route, Outcome), so an idempotent replay
// of a stored Outcome is byte-for-byte the first response.
#pragma once

#include "http/json_reply.h"
#include "http/route_table.h"
#include "ledger/commands.h"
#include "usecases/account.h"

namespace http {

// The HTTP status of a rejection (400, 402, 404, 409).
int rejection_status(ledger::Rejection rejection);

// The error reply of a rejected outcome. Precondition: !outcome.ok().
HttpReply rejection_reply(const ledger::Outcome& outcome);

// The reply for `outcome` of a command submitted by `route`: rejection_reply when rejected,
// otherwise the route's success body. Precondition: `route` submits commands (kCredits,
// kReserve, kCapture, kRelease, kGrant, kRefund, kReopen). Sets `replayed` from the outcome (a header
// only: the body does not change).
HttpReply outcome_reply(RouteId route, const ledger::Outcome& outcome);

// The reply when the ledger gave no outcome: 503 service_unavailable (nothing was done) or
// 500 outcome_unknown (the connection broke during COMMIT: repeat the key to learn it).
HttpReply ledger_failure_reply(usecases::LedgerFailure failure);

// The reply of a use case's refusal: the rejection's reply, the failure's reply, 409
// idempotency_conflict, or 503 with `retry_after_s` for a plan missing from the plans file.
HttpReply refusal_reply(const usecases::Refusal& refusal, int64_t retry_after_s);

}  // namespace http
