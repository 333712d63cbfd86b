// The project's one outgoing-HTTP wrapper (libcurl). Every call the service makes to
// another system (Stripe, AI detectors, the humanizer model) goes through perform() or
// perform_all(). Transport failures are values in HttpResponse, never exceptions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace integrations {

// Limits on everything a request can make us hold or wait for.
inline constexpr std::size_t kResponseBodyBytesMax = 4 * 1024 * 1024;
inline constexpr long kTimeoutMsMax = 120'000;
inline constexpr long kConnectTimeoutMsDefault = 3'000;
inline constexpr long kTimeoutMsDefault = 10'000;
inline constexpr std::size_t kParallelRequestsMax = 64;

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "POST";  // GET, POST, PUT, PATCH or DELETE.
  std::string url;              // Absolute http:// or https:// URL.
  HttpHeaders headers;          // Sent as given; an empty "Expect:" is always added.
  std::string body;             // Sent for every method except GET (as is, any bytes).
  long connect_timeout_ms = kConnectTimeoutMsDefault;  // 1..kTimeoutMsMax.
  long timeout_ms = kTimeoutMsDefault;                 // Whole exchange, 1..kTimeoutMsMax.
};

struct HttpResponse {
  enum class Failure {
    kNone,     // An HTTP response arrived (any status, including 4xx/5xx).
    kTimeout,  // A timeout or the perform_all deadline expired first.
    kConnect,  // Name resolution or connection failed.
    kOther,    // Anything else: TLS, protocol error, body over kResponseBodyBytesMax...
  };

  long status = 0;  // HTTP status when failure == kNone, else 0.
  std::string body;
  Failure failure = Failure::kNone;
  std::string error;       // Human-readable cause when failure != kNone.
  int64_t latency_ms = 0;  // From start of the transfer to completion or abort.

  bool ok() const { return failure == Failure::kNone; }
};

// Initialises libcurl once per process (thread-safe); every libcurl user calls it first.
void ensure_curl_initialized();

// Returns the name of a failure ("none", "timeout", "connect", "other") for logs/tests.
std::string_view failure_name(HttpResponse::Failure failure);

// Performs one request on the calling thread (blocking, at most request.timeout_ms).
// Never throws on transport problems: they are reported in the response.
HttpResponse perform(const HttpRequest& request);

// Performs up to kParallelRequestsMax requests concurrently on the calling thread (one
// curl multi event loop) and returns one response per request, in request order. At most
// `max_in_flight` (>= 1; 0 means all) run at once: the rest start as earlier ones finish,
// each with its own timeouts counted from its start. Whatever has not finished
// `overall_deadline_ms` (>= 1) after the call began is aborted and reported as kTimeout;
// requests never started are reported as kTimeout with latency 0.
std::vector<HttpResponse> perform_all(const std::vector<HttpRequest>& requests,
                                      int64_t overall_deadline_ms, std::size_t max_in_flight = 0);

// application/x-www-form-urlencoded body from (name, value) pairs, in order, both
// percent-encoded (RFC 3986 unreserved characters kept). Stripe's API takes this format.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// A header pair for `Authorization: Bearer <token>`.
std::pair<std::string, std::string> bearer_header(std::string_view token);

}  // namespace integrations
