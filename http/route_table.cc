// A static route table matched segment by segment.
#include "http/route_table.h"

#include <array>
#include <cassert>
#include <vector>

namespace http {
namespace {

struct RouteEntry {
  std::string_view method;
  std::string_view path_template;
  RouteId id;
  Bulkhead bulkhead = Bulkhead::kLedger;
};

constexpr std::array<RouteEntry, 24> kRoutes = {{
    {"GET", "/api/v1/health", RouteId::kHealth},
    {"GET", "/api/v1/openapi.json", RouteId::kOpenApi},
    {"GET", "/api/v1/credits", RouteId::kCredits},
    {"GET", "/api/v1/credits/history", RouteId::kCreditsHistory},
    {"GET", "/api/v1/credits/usage", RouteId::kCreditsUsage},
    {"POST", "/api/v1/credits/reservations", RouteId::kReserve},
    {"POST", "/api/v1/credits/reservations/{id}/capture", RouteId::kCapture},
    {"POST", "/api/v1/credits/reservations/{id}/release", RouteId::kRelease},
    {"POST", "/api/v1/admin/accounts/{id}/grants", RouteId::kGrant},
    {"POST", "/api/v1/admin/accounts/{id}/refunds", RouteId::kRefund},
    {"POST", "/api/v1/admin/accounts/{id}/reopen", RouteId::kReopen},
    {"GET", "/api/v1/admin/accounts/{id}/events", RouteId::kEvents},
    {"GET", "/api/v1/admin/accounts/{id}/balance", RouteId::kBalance},
    {"GET", "/api/v1/admin/accounts/{id}/history", RouteId::kAdminHistory},
    {"GET", "/api/v1/admin/accounts/{id}/verify", RouteId::kAdminVerify},
    {"GET", "/api/v1/admin/digests/latest", RouteId::kLatestDigest},
    {"GET", "/metrics", RouteId::kMetrics},
    {"POST", "/api/v1/humanize", RouteId::kHumanize, Bulkhead::kOutbound},
    {"POST", "/api/v1/detect", RouteId::kDetect, Bulkhead::kOutbound},
    {"POST", "/api/v1/billing/webhooks/stripe", RouteId::kStripeWebhook},
    {"POST", "/api/v1/billing/webhooks/churnkey", RouteId::kChurnkeyWebhook},
    {"POST", "/api/v1/integrations/shopify/webhook", RouteId::kShopifyWebhook},
    {"POST", "/api/v1/billing/checkout", RouteId::kBillingCheckout, Bulkhead::kOutbound},
    {"GET", "/api/v1/billing/subscription", RouteId::kBillingSubscription},
}};

constexpr std::size_t kSegmentsMax = 16;

// "/a/b/c" -> {"a","b","c"}; false for an empty segment ("//", trailing "/") or too many.
bool split_path(std::string_view path, std::vector<std::string_view>& segments) {
  if (path.empty() || path[0] != '/') return false;
  std::size_t start = 1;
  while (start <= path.size()) {
    const std::size_t slash = std::min(path.find('/', start), path.size());
    if (slash == start) return false;
    segments.push_back(path.substr(start, slash - start));
    if (segments.size() > kSegmentsMax) return false;
    start = slash + 1;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether `segments` fit the template; the {id} segment is returned through `param`.
bool matches(std::string_view path_template, const std::vector<std::string_view>& segments,
             std::string_view& param) {
  std::vector<std::string_view> pattern;
  const bool ok = split_path(path_template, pattern);
  assert(ok);
  (void)ok;
  if (pattern.size() != segments.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "{id}") {
      param = segments[i];
    } else if (pattern[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string percent_decode(std::string_view text, bool& ok) {
  std::string decoded;
  decoded.reserve(text.size());
  ok = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      ok = false;
      return {};
    }
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) {
      ok = false;
      return {};
    }
    decoded += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return decoded;
}

std::vector<RouteDescription> route_descriptions() {
  std::vector<RouteDescription> routes;
  for (const RouteEntry& entry : kRoutes) routes.push_back({entry.method, entry.path_template});
  return routes;
}

RouteMatch match_route(std::string_view method, std::string_view path) {
  RouteMatch match;
  std::vector<std::string_view> segments;
  if (!split_path(path, segments)) return match;
  for (const RouteEntry& entry : kRoutes) {
    std::string_view param;
    if (!matches(entry.path_template, segments, param)) continue;
    if (entry.method != method) {
      match.status = RouteStatus::kMethodNotAllowed;
      match.route_template = entry.path_template;
      match.allow = std::string(entry.method);
      continue;
    }
    bool decoded_ok = true;
    match.path_param = percent_decode(param, decoded_ok);
    if (!decoded_ok) match.path_param.clear();
    match.status = RouteStatus::kFound;
    match.id = entry.id;
    match.route_template = entry.path_template;
    match.allow.clear();
    match.bulkhead = entry.bulkhead;
    return match;
  }
  return match;
}

}  // namespace http
