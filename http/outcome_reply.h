// The one place that maps ledger outcomes to HTTP: rejections to status codes and error
// bodies, successes to each route's body. A reply is a pure function of (route, Outcome),
// so an idempotent replay of a stored Outcome is byte-for-byte the first response.
#pragma once

#include "http/json_reply.h"
#include "http/route_table.h"
#include "ledger/commands.h"

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

}  // namespace http
