// The routes ledgerd serves: (method, path template) -> RouteId, with the path parameter
// extracted and percent-decoded, and the bulkhead (worker pool) each route runs in. Unknown
// paths are 404, known paths with another method 405.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace http {

enum class RouteId {
  kHealth,
  kOpenApi,
  kCredits,
  kCreditsHistory,
  kCreditsUsage,
  kReserve,
  kCapture,
  kRelease,
  kGrant,
  kRefund,
  kReopen,
  kEvents,
  kBalance,
  kAdminHistory,
  kAdminVerify,
  kLatestDigest,
  kMetrics,
  kHumanize,
  kDetect,
  kStripeWebhook,
  kChurnkeyWebhook,
  kShopifyWebhook,
  kBillingCheckout,
  kBillingSubscription,
};

enum class RouteStatus { kFound, kNotFound, kMethodNotAllowed };

// Which worker pool runs a route. Routes that wait on a model or a payment provider
// (seconds to minutes) run in their own pool, so they can never take the workers of the
// ledger routes, webhooks, health and metrics (milliseconds).
enum class Bulkhead {
  kLedger,    // the database and the committer only
  kOutbound,  // outgoing calls: humanize, detect, checkout
};

struct RouteMatch {
  RouteStatus status = RouteStatus::kNotFound;
  RouteId id = RouteId::kHealth;
  // The template ("/api/v1/credits/reservations/{id}/capture"), or "unmatched": the only
  // route label of logs and metrics, so label sets stay bounded.
  std::string_view route_template = "unmatched";
  std::string path_param;  // the decoded {id}; empty when the route has none
  std::string allow;       // on kMethodNotAllowed: "GET" / "POST"
  Bulkhead bulkhead = Bulkhead::kLedger;  // kOutbound only for a found outbound route
};

// One route: its method, its path template ("/api/v1/credits/reservations/{id}/capture").
struct RouteDescription {
  std::string_view method;
  std::string_view path_template;
};
// Every route of the table (not the console's files under /admin/), in table order.
std::vector<RouteDescription> route_descriptions();

// Matches `method` ("GET", "POST", ...) and `path` (no query string).
RouteMatch match_route(std::string_view method, std::string_view path);

// Decodes %XX escapes. Sets `ok` to false (and returns "") on a truncated or non-hex escape.
std::string percent_decode(std::string_view text, bool& ok);

}  // namespace http
