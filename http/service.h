// The request handling of ledgerd, independent of the HTTP library: authenticate (behind a
// per-address limit on failed authentications), validate, rate-limit, cap each account's
// concurrent humanize/detect requests, submit commands to the ledger committer or read the
// store, and produce the reply of the JSON contract (shared/DESIGN.md). Runs on the worker
// threads, which may block, except the requests handles_without_blocking() admits, which a
// reactor thread handles; the write routes end in a DeferredCommand whose reply the
// committer's completion builds (submit_deferred).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http/auth.h"
#include "http/concurrency_limiter.h"
#include "http/json_reply.h"
#include "http/metrics.h"
#include "http/rate_limiter.h"
#include "http/route_table.h"
#include "ledger/committer.h"
#include "usecases/account.h"

namespace http {

class ContentHandlers;  // http/content_routes.h: POST /api/v1/humanize and /api/v1/detect
class BillingRoutes;    // http/billing_routes.h: Stripe webhook, checkout, subscription
class DatabaseProbe;    // http/database_probe.h: the cached database facts of health, metrics

// What the HTTP layer copied out of a request before handing it to a worker.
struct IncomingRequest {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // without the query string
  std::map<std::string, std::string> query;  // values as received (percent-decoded later)
  std::string authorization;                 // the header value; empty when absent
  std::optional<std::string> idempotency_key;
  std::string stripe_signature;  // the Stripe-Signature header; empty when absent
  // The Churnkey signature header (ServerOptions::churnkey_signature_header); empty when absent.
  std::string churnkey_signature;
  // Shopify's webhook headers (X-Shopify-Hmac-Sha256, -Topic, -Shop-Domain, -Webhook-Id,
  // -Event-Id); empty when absent.
  std::string shopify_hmac;
  std::string shopify_topic;
  std::string shopify_shop_domain;
  std::string shopify_webhook_id;
  std::string shopify_event_id;
  std::string body;
  std::string request_id;      // generated per request; the events' correlation id
  std::string client_address;  // what per-address limits key on (http/client_address.h)
};

// What the request log line and the metrics need to know beyond the reply.
struct RequestLog {
  std::string_view route_template = "unmatched";
  std::string account_id;  // the account acted on, when known
  std::string detail;      // a short machine word (e.g. why auth failed); never a secret
};

// A write route's command, validated and ready for the ledger. The server submits it with
// a completion instead of a worker waiting for it, and answers from the completion: the
// reply is outcome_reply(route, outcome), or the reply of the ledger's failure.
struct DeferredCommand {
  RouteId route;
  ledger::Command command;
};

// What handling a request gives: its reply, or the command the reply waits for.
using Handled = std::variant<HttpReply, DeferredCommand>;

struct ServiceOptions {
  std::string database_url;
  // Where ledgerd writes its scheduled digests ("" none): GET /api/v1/admin/digests/latest.
  std::string digest_dir;
  AuthSettings auth;
  double rate_limit_per_s = 50;  // <= 0 disables rate limiting
  double rate_limit_burst = 100;
  std::size_t rate_limit_buckets_max = 100'000;
  // Failed authentications per client address: more than auth_failures_max within
  // auth_failure_window_s (a token bucket refilling at max/window per second) and every
  // authenticated route of that address is 429 without looking at its credential (so
  // without an API key lookup). auth_failures_max == 0 disables the limit.
  int64_t auth_failures_max = 20;
  int64_t auth_failure_window_s = 60;
  std::size_t auth_failure_addresses_max = 100'000;  // addresses tracked at most
  // Concurrent humanize + detect requests per account (0: no cap); above it 429 with
  // retry_after = content_busy_retry_after_s, before any reservation.
  std::size_t content_concurrency_per_account = 2;
  int64_t content_busy_retry_after_s = 5;
  int64_t reservation_ttl_default_s = 600;
  // A command the committer has not decided this long after submission is dropped unwritten
  // and answered 503; a decided command is always awaited.
  int64_t commit_timeout_ms = 10'000;
  // Fills the gauges the server owns (worker queue); called on each /metrics scrape.
  std::function<void(MetricsGauges&)> fill_server_gauges;
  // /health and the database gauges of /metrics; required, must outlive the service.
  const DatabaseProbe* database_probe = nullptr;
  // The billing routes; must outlive the service. Null: those routes answer 503.
  const BillingRoutes* billing = nullptr;
};

class LedgerService {
 public:
  // `committer`, `metrics` and `content` must outlive the service. Without `content` the
  // humanize and detect routes answer 503.
  LedgerService(ServiceOptions options, ledger::Committer& committer, Metrics& metrics,
                ContentHandlers* content = nullptr);

  // Handles one request up to its reply, or, on the routes that submit one command (reserve,
  // capture, release, grant, refund, reopen), up to that command: pass it to
  // submit_deferred. Blocking (database reads; the humanize, detect and billing routes wait
  // for the committer themselves). Never throws: every failure becomes a JSON error reply
  // without internals. Thread-safe.
  Handled handle(const IncomingRequest& request, RequestLog& log);

  // True when handle() answers `request` of `route` without blocking on anything, so that
  // a thread that must not block (a Pistache reactor) may run it: reserve, capture and
  // release with a credential that is not an API key and a body of at most
  // kNonBlockingBodyBytesMax. Their reply is an error or a DeferredCommand.
  static bool handles_without_blocking(const RouteMatch& route, const IncomingRequest& request);
  static constexpr std::size_t kNonBlockingBodyBytesMax = 4 * 1024;

  // Submits a deferred command with the deadline of commit_timeout_ms; `reply` receives its
  // reply exactly once, on the committer's lane thread (or on this thread when the ledger
  // refuses it at once), so it must not block or throw. The ledger decides every command
  // it took (commits it or fails it whole) or drops it unwritten at its deadline, so the
  // reply is never a 503 for a command that commits later. The service must outlive every
  // such completion: shut the committer down before the service is destroyed. Thread-safe.
  void submit_deferred(DeferredCommand deferred, const std::string& request_id,
                       std::function<void(HttpReply)> reply);

 private:
  // The route's answer or deferred command; throws what a database read throws (handle()
  // answers it).
  Handled route_and_dispatch(const IncomingRequest& request, RequestLog& log);
  Handled dispatch(const RouteMatch& route, const IncomingRequest& request, RequestLog& log);
  HttpReply health();
  HttpReply metrics_text();
  HttpReply credits(const IncomingRequest& request, RequestLog& log);
  // GET /api/v1/credits/history?limit=&before= (user JWT): the caller's entries newest first.
  HttpReply credits_history(const IncomingRequest& request, RequestLog& log);
  // GET /api/v1/credits/usage?from=&to=&group_by= (user JWT): credits spent, from the usage
  // projection.
  HttpReply credits_usage(const IncomingRequest& request, RequestLog& log);
  Handled reserve(const IncomingRequest& request, RequestLog& log);
  Handled settle(RouteId route, const std::string& reservation_id, const IncomingRequest& request,
                 RequestLog& log);
  // POST /api/v1/admin/accounts/{id}/reopen {reason}: a closed account takes reservations
  // again (AccountReopened).
  Handled reopen(const std::string& account_id, const IncomingRequest& request, RequestLog& log);
  Handled grant_or_refund(RouteId route, const std::string& account_id,
                          const IncomingRequest& request, RequestLog& log);
  HttpReply events(const std::string& account_id, const IncomingRequest& request, RequestLog& log);
  HttpReply balance(const std::string& account_id, const IncomingRequest& request, RequestLog& log);
  // The audit console's reads (admin key): an account's credit history (the user route's
  // page), the verification of its stream, the newest scheduled digest.
  HttpReply admin_history(const std::string& account_id, const IncomingRequest& request,
                          RequestLog& log);
  HttpReply verify_account(const std::string& account_id, const IncomingRequest& request,
                           RequestLog& log);
  HttpReply latest_digest(const IncomingRequest& request, RequestLog& log);
  // GET /admin/ and its files: the audit console (http/console/), static.
  HttpReply console_file(const IncomingRequest& request);
  // One page of an account's credit history (GET .../history?limit=&before=).
  HttpReply history_page(const std::string& account_id, const IncomingRequest& request);
  // kHumanize, kDetect: user authentication and rate limit, then ContentHandlers.
  HttpReply content_route(RouteId route, const IncomingRequest& request, RequestLog& log);
  // kStripeWebhook (signature) and kBillingCheckout, kBillingSubscription (user
  // authentication and rate limit), then BillingRoutes. In billing_routes.cc.
  HttpReply billing_route(RouteId route, const IncomingRequest& request, RequestLog& log);

  // 429 while the client address is over its failed-authentication limit (before the
  // credential is looked at), else 401 or the principal; a failure counts against the address.
  ReplyOr<Principal> authenticate_request(const IncomingRequest& request, RequestLog& log);
  // The gate of end-user routes: authenticated, a user (JWT; API keys are 403), logged as
  // the account acted on, and within the account's rate limit.
  ReplyOr<Principal> authenticate_user(const IncomingRequest& request, RequestLog& log);
  ReplyOr<Principal> authenticate_admin(const IncomingRequest& request,
                                        const std::string& account_id, RequestLog& log);
  std::optional<HttpReply> rate_limit(const std::string& account_id);
  // A command submitted now is dropped unwritten if not decided by this (commit_timeout_ms).
  ledger::Committer::Clock::time_point command_deadline() const;
  // Submits with a deadline of commit_timeout_ms and waits for the outcome, or says why
  // there is none (the use cases' way to reach the ledger).
  usecases::Submitted submit_command(ledger::Command command);
  // The failure a committer exception stands for, counted as a database error when it is
  // one; rethrows any other exception.
  usecases::LedgerFailure ledger_failure_of(std::exception_ptr error);

  const ServiceOptions options_;
  ledger::Committer& committer_;
  Metrics& metrics_;
  RateLimiter rate_limiter_;          // requests per account
  RateLimiter auth_failure_limiter_;  // failed authentications per client address
  ConcurrencyLimiter content_in_flight_;  // humanize + detect per account
  ContentHandlers* const content_;
};

}  // namespace http
