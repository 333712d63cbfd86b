// The routes ledgerd serves: (method, path template) -> RouteId, with the path parameter
// extracted and percent-decoded. Unknown paths are 404, known paths with another method 405.
#pragma once

#include <string>
#include <string_view>

namespace http {

enum class RouteId {
  kHealth,
  kCredits,
  kReserve,
  kCapture,
  kRelease,
  kGrant,
  kRefund,
  kEvents,
  kBalance,
  kMetrics,
  kHumanize,
  kDetect,
  kStripeWebhook,
  kBillingCheckout,
  kBillingSubscription,
};

enum class RouteStatus { kFound, kNotFound, kMethodNotAllowed };

struct RouteMatch {
  RouteStatus status = RouteStatus::kNotFound;
  RouteId id = RouteId::kHealth;
  // The template ("/api/v1/credits/reservations/{id}/capture"), or "unmatched": the only
  // route label of logs and metrics, so label sets stay bounded.
  std::string_view route_template = "unmatched";
  std::string path_param;  // the decoded {id}; empty when the route has none
  std::string allow;       // on kMethodNotAllowed: "GET" / "POST"
};

// Matches `method` ("GET", "POST", ...) and `path` (no query string).
RouteMatch match_route(std::string_view method, std::string_view path);

// Decodes %XX escapes. Sets `ok` to false (and returns "") on a truncated or non-hex escape.
std::string percent_decode(std::string_view text, bool& ok);

}  // namespace http
