// Rejection table and success bodies of the command routes.
#include "http/outcome_reply.h"

#include <cassert>

#include "ledger/time_format.h"

namespace http {
namespace {

using ledger::Outcome;
using ledger::Rejection;

std::string_view rejection_error_code(Rejection rejection) {
  assert(rejection != Rejection::kNone && "no error code for an accepted outcome");
  return ledger::rejection_code(rejection);
}

std::string success_body(RouteId route, const Outcome& outcome) {
  switch (route) {
    case RouteId::kReserve:
      return JsonObject()
          .field("reservation_id", outcome.reservation_id)
          .field("amount", outcome.amount)
          .field("expires_at", ledger::format_rfc3339(outcome.expires_at_us))
          .field("credits_available", outcome.credits_available)
          .finish();
    case RouteId::kCapture:
      return JsonObject()
          .field("reservation_id", outcome.reservation_id)
          .field("credits_used", outcome.credits_used)
          .field("credits_released", outcome.credits_released)
          .field("credits_remaining", outcome.credits_available)
          .finish();
    case RouteId::kRelease:
      return JsonObject()
          .field("reservation_id", outcome.reservation_id)
          .field("credits_released", outcome.credits_released)
          .field("credits_remaining", outcome.credits_available)
          .finish();
    case RouteId::kGrant:
    case RouteId::kRefund: {
      JsonObject body;
      body.field("account_id", outcome.account_id).field("amount", outcome.amount);
      if (route == RouteId::kGrant) body.field("bucket_id", outcome.bucket_id);
      return body.field("credits_available", outcome.credits_available)
          .field("credits_reserved", outcome.credits_reserved)
          .field("version", outcome.version)
          .finish();
    }
    case RouteId::kReopen:
      return JsonObject()
          .field("account_id", outcome.account_id)
          .field("closed", false)
          .field("note", outcome.note)
          .field("version", outcome.version)
          .finish();
    default:
      break;
  }
  assert(false && "route does not submit commands");
  return "{}";
}

}  // namespace

int rejection_status(Rejection rejection) {
  switch (rejection) {
    case Rejection::kNone:
      break;
    case Rejection::kInvalidCommand:
    case Rejection::kInvalidAmount:
      return 400;
    case Rejection::kInsufficientCredits:
      return 402;
    case Rejection::kReservationNotFound:
    case Rejection::kAccountNotFound:
      return 404;
    case Rejection::kAccountClosed:
      return 403;
    case Rejection::kReservationSettled:
    case Rejection::kReservationExpired:
    case Rejection::kCaptureExceedsReservation:
    case Rejection::kRefundExceedsSpent:
    case Rejection::kBalanceOverflow:
    case Rejection::kIdempotencyConflict:
    case Rejection::kRefundReferenceUsed:
    case Rejection::kBucketLimit:
      return 409;
  }
  assert(false && "no status for an accepted outcome");
  return 500;
}

HttpReply rejection_reply(const Outcome& outcome) {
  assert(!outcome.ok());
  const int status = rejection_status(outcome.rejection);
  const std::string_view code = rejection_error_code(outcome.rejection);
  switch (outcome.rejection) {
    case Rejection::kInsufficientCredits:
      return json_error(status, code,
                        {{"credits_needed", outcome.credits_needed},
                         {"credits_available", outcome.credits_available}});
    case Rejection::kReservationSettled:
      return json_error(status, code, {{"reservation_status", outcome.reservation_status}});
    case Rejection::kCaptureExceedsReservation:
      return json_error(status, code, {{"reservation_amount", outcome.amount}});
    default:
      return json_error(status, code);
  }
}

HttpReply outcome_reply(RouteId route, const Outcome& outcome) {
  HttpReply reply = outcome.ok() ? json_reply(route == RouteId::kReserve ? 201 : 200,
                                              success_body(route, outcome))
                                 : rejection_reply(outcome);
  reply.replayed = outcome.replayed;
  return reply;
}

HttpReply ledger_failure_reply(usecases::LedgerFailure failure) {
  switch (failure) {
    case usecases::LedgerFailure::kUnavailable:
    case usecases::LedgerFailure::kOverloaded:
    case usecases::LedgerFailure::kDeadlineExceeded:
      return service_unavailable();
    case usecases::LedgerFailure::kOutcomeUnknown:
      return json_error(500, "outcome_unknown",
                        {{"message",
                          "the database connection broke while the command committed;"
                          " repeat it with the same Idempotency-Key to learn its outcome"}});
  }
  return service_unavailable();
}

HttpReply refusal_reply(const usecases::Refusal& refusal, int64_t retry_after_s) {
  struct ToReply {
    int64_t retry_after_s;
    HttpReply operator()(const Outcome& rejected) const { return rejection_reply(rejected); }
    HttpReply operator()(usecases::LedgerFailure failure) const {
      return ledger_failure_reply(failure);
    }
    HttpReply operator()(const usecases::IdempotencyConflict&) const {
      return json_error(409, "idempotency_conflict",
                        {{"message",
                          "a request with this Idempotency-Key is running or was "
                          "charged; use a new key for a new request"}});
    }
    // A deployment error (the caller logs it): retry once the plans file is fixed.
    HttpReply operator()(const usecases::UnknownPlan&) const {
      return service_unavailable(retry_after_s);
    }
  };
  return std::visit(ToReply{retry_after_s}, refusal);
}

}  // namespace http
