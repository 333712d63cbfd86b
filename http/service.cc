// LedgerService: routing, the error boundary (every exception becomes a JSON reply),
// health, metrics, the OpenAPI document, authentication, rate limiting and command
// submission. The route handlers are in credits_routes.cc, admin_routes.cc (with the
// console's files), billing_routes.cc and content_routes.cc.
#include "http/service.h"

#include <spdlog/spdlog.h>

#include <cassert>
#include <chrono>

#include "auth/identifiers.h"
#include "http/console_assets.h"
#include "http/database_probe.h"
#include "http/outcome_reply.h"
#include "http/read_connection.h"
#include "http/request_body.h"
#include "http/request_rules.h"

namespace http {

LedgerService::LedgerService(ServiceOptions options, ledger::Committer& committer, Metrics& metrics,
                             ContentHandlers* content)
    : options_(std::move(options)),
      committer_(committer),
      metrics_(metrics),
      rate_limiter_(options_.rate_limit_per_s, options_.rate_limit_burst,
                    options_.rate_limit_buckets_max),
      auth_failure_limiter_(
          options_.auth_failures_max <= 0
              ? 0.0
              : static_cast<double>(options_.auth_failures_max) /
                    static_cast<double>(options_.auth_failure_window_s),
          static_cast<double>(options_.auth_failures_max), options_.auth_failure_addresses_max),
      content_in_flight_(options_.content_concurrency_per_account),
      content_(content) {
  assert(!options_.auth.jwt_secret.empty());
  assert(options_.commit_timeout_ms > 0);
  assert(options_.database_probe != nullptr);
  assert(options_.auth_failures_max <= 0 || options_.auth_failure_window_s > 0);
  assert(options_.content_busy_retry_after_s > 0);
}

Handled LedgerService::handle(const IncomingRequest& request, RequestLog& log) {
  // A GET only reads. When its thread's connection turns out broken (the server restarted,
  // or ended the session), it is asked once more on a fresh connection before answering
  // 503: a restart of PostgreSQL costs no client an answer if the server is back.
  const bool read_only = request.method == "GET";
  for (int attempt = 1;; ++attempt) {
    try {
      return route_and_dispatch(request, log);
    } catch (const pg::Error& error) {
      // Reads only: every write goes through the committer, whose failures are replies.
      metrics_.count_database_error();
      if (error.kind() == pg::ErrorKind::kConnection) {
        discard_thread_connection();
        if (read_only && attempt == 1) continue;
        log.detail = "database_unreachable";
        return service_unavailable();
      }
      if (error.kind() == pg::ErrorKind::kTransient) {
        log.detail = "database_busy";
        return service_unavailable();
      }
      spdlog::error("request_id={} database error: {}", request.request_id, error.what());
      return json_error(500, "internal_error", {{"request_id", request.request_id}});
    } catch (const std::exception& error) {
      spdlog::error("request_id={} unexpected error: {}", request.request_id, error.what());
      return json_error(500, "internal_error", {{"request_id", request.request_id}});
    }
  }
}

Handled LedgerService::route_and_dispatch(const IncomingRequest& request, RequestLog& log) {
  if (request.path == "/admin" || request.path.rfind("/admin/", 0) == 0) {
    log.route_template = "/admin/";
    return console_file(request);
  }
  const RouteMatch route = match_route(request.method, request.path);
  log.route_template = route.route_template;
  if (route.status == RouteStatus::kNotFound) return json_error(404, "not_found");
  if (route.status == RouteStatus::kMethodNotAllowed) {
    HttpReply reply = json_error(405, "method_not_allowed");
    reply.allow = route.allow;
    return reply;
  }
  return dispatch(route, request, log);
}

bool LedgerService::handles_without_blocking(const RouteMatch& route,
                                             const IncomingRequest& request) {
  // These routes read nothing from the database: their only read would be an API key's
  // lookup (asserted by thread_connection under a NonBlockingScope).
  const bool routed = route.status == RouteStatus::kFound &&
                      (route.id == RouteId::kReserve || route.id == RouteId::kCapture ||
                       route.id == RouteId::kRelease);
  return routed && request.body.size() <= kNonBlockingBodyBytesMax &&
         !authorization_names_api_key(request.authorization);
}

Handled LedgerService::dispatch(const RouteMatch& route, const IncomingRequest& request,
                                RequestLog& log) {
  switch (route.id) {
    case RouteId::kHealth:
      return health();
    case RouteId::kOpenApi:
      return json_reply(200, std::string(openapi_document()));
    case RouteId::kMetrics:
      return metrics_text();
    case RouteId::kCredits:
      return credits(request, log);
    case RouteId::kCreditsHistory:
      return credits_history(request, log);
    case RouteId::kCreditsUsage:
      return credits_usage(request, log);
    case RouteId::kReserve:
      return reserve(request, log);
    case RouteId::kCapture:
    case RouteId::kRelease:
      return settle(route.id, route.path_param, request, log);
    case RouteId::kGrant:
    case RouteId::kRefund:
      return grant_or_refund(route.id, route.path_param, request, log);
    case RouteId::kReopen:
      return reopen(route.path_param, request, log);
    case RouteId::kEvents:
      return events(route.path_param, request, log);
    case RouteId::kBalance:
      return balance(route.path_param, request, log);
    case RouteId::kAdminHistory:
      return admin_history(route.path_param, request, log);
    case RouteId::kAdminVerify:
      return verify_account(route.path_param, request, log);
    case RouteId::kLatestDigest:
      return latest_digest(request, log);
    case RouteId::kHumanize:
    case RouteId::kDetect:
      return content_route(route.id, request, log);
    case RouteId::kStripeWebhook:
    case RouteId::kChurnkeyWebhook:
    case RouteId::kShopifyWebhook:
    case RouteId::kBillingCheckout:
    case RouteId::kBillingSubscription:
      return billing_route(route.id, request, log);
  }
  assert(false && "unhandled route");
  return json_error(404, "not_found");
}

HttpReply LedgerService::health() {
  // The probe's last check, never a query per call: /health stays cheap under a flood.
  if (!options_.database_probe->healthy()) return service_unavailable();
  return json_reply(200, R"({"status":"ok"})");
}

HttpReply LedgerService::metrics_text() {
  MetricsGauges gauges;
  gauges.open_reservations = options_.database_probe->open_reservations();
  gauges.database_probe_queries_total =
      static_cast<int64_t>(options_.database_probe->queries_total());
  gauges.committer_queue_depth = static_cast<int64_t>(committer_.queue_depth());
  gauges.rate_limit_buckets = static_cast<int64_t>(rate_limiter_.bucket_count());
  gauges.auth_failure_addresses = static_cast<int64_t>(auth_failure_limiter_.bucket_count());
  gauges.content_requests_in_flight = static_cast<int64_t>(content_in_flight_.in_flight());
  if (options_.fill_server_gauges) options_.fill_server_gauges(gauges);
  HttpReply reply;
  reply.body = metrics_.render(gauges);
  reply.content_type = "text/plain; version=0.0.4";
  return reply;
}

ReplyOr<Principal> LedgerService::authenticate_request(const IncomingRequest& request,
                                                       RequestLog& log) {
  const RateLimiter::Clock::time_point now = RateLimiter::Clock::now();
  const RateLimitDecision address_limit = auth_failure_limiter_.check(request.client_address, now);
  if (!address_limit.allowed) {
    log.detail = "auth_failures_exceeded";
    return rate_limit_exceeded(address_limit.retry_after_s);
  }
  const ApiKeyLookup find_key = [this](std::string_view key) {
    return auth::find_api_key(thread_connection(options_.database_url), key);
  };
  auto result = authenticate(request.authorization, options_.auth, unix_now_s(), find_key);
  if (const auto* failure = std::get_if<AuthFailure>(&result)) {
    auth_failure_limiter_.admit(request.client_address, now);
    log.detail = std::string(auth_failure_name(*failure));
    return unauthorized();
  }
  return std::move(std::get<Principal>(result));
}

ReplyOr<Principal> LedgerService::authenticate_user(const IncomingRequest& request,
                                                    RequestLog& log) {
  auto principal = authenticate_request(request, log);
  if (std::holds_alternative<HttpReply>(principal)) return principal;
  const Principal& caller = std::get<Principal>(principal);
  if (!caller.is_user()) return forbidden();
  log.account_id = caller.account_id;
  if (auto limited = rate_limit(caller.account_id)) return std::move(*limited);
  return principal;
}

ReplyOr<Principal> LedgerService::authenticate_admin(const IncomingRequest& request,
                                                     const std::string& account_id,
                                                     RequestLog& log) {
  auto principal = authenticate_request(request, log);
  if (std::holds_alternative<HttpReply>(principal)) return principal;
  if (!std::get<Principal>(principal).has_scope(auth::kScopeAdmin)) return forbidden();
  if (!auth::is_valid_account_id(account_id)) return invalid_account_id();
  log.account_id = account_id;
  return principal;
}

std::optional<HttpReply> LedgerService::rate_limit(const std::string& account_id) {
  const RateLimitDecision decision = rate_limiter_.admit(account_id, RateLimiter::Clock::now());
  if (decision.allowed) return std::nullopt;
  return rate_limit_exceeded(decision.retry_after_s);
}

ledger::Committer::Clock::time_point LedgerService::command_deadline() const {
  return ledger::Committer::Clock::now() + std::chrono::milliseconds(options_.commit_timeout_ms);
}

usecases::Submitted LedgerService::submit_command(ledger::Command command) {
  assert(!command.account_id.empty());
  assert(!command.idempotency_key.empty());
  // The committer drops a command not decided by the deadline and otherwise commits it or
  // fails it as a whole, with every wait of its own bounded: waiting for the future without
  // a timeout is what keeps "503 means nothing was done" true.
  std::future<ledger::Outcome> outcome = committer_.submit(std::move(command), command_deadline());
  try {
    return outcome.get();
  } catch (const std::exception&) {
    return ledger_failure_of(std::current_exception());
  }
}

usecases::LedgerFailure LedgerService::ledger_failure_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const ledger::LedgerUnavailable&) {
    metrics_.count_database_error();
    return usecases::LedgerFailure::kUnavailable;
  } catch (const ledger::LedgerOverloaded&) {
    return usecases::LedgerFailure::kOverloaded;
  } catch (const ledger::LedgerDeadlineExceeded&) {
    return usecases::LedgerFailure::kDeadlineExceeded;
  } catch (const ledger::LedgerOutcomeUnknown&) {
    metrics_.count_database_error();
    return usecases::LedgerFailure::kOutcomeUnknown;
  }
}

void LedgerService::submit_deferred(DeferredCommand deferred, const std::string& request_id,
                                    std::function<void(HttpReply)> reply) {
  assert(!deferred.command.account_id.empty());
  assert(!deferred.command.idempotency_key.empty());
  assert(reply);
  const RouteId route = deferred.route;
  committer_.submit(std::move(deferred.command), command_deadline(),
                    [this, route, request_id, reply = std::move(reply)](ledger::Outcome outcome,
                                                                        std::exception_ptr error) {
                      HttpReply answer;
                      try {
                        answer = error ? ledger_failure_reply(ledger_failure_of(error))
                                       : outcome_reply(route, outcome);
                      } catch (const std::exception& unexpected) {
                        spdlog::error("request_id={} unexpected error: {}", request_id,
                                      unexpected.what());
                        answer = json_error(500, "internal_error", {{"request_id", request_id}});
                      }
                      reply(std::move(answer));
                    });
}

}  // namespace http
