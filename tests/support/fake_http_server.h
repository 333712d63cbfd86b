// FakeHttpServer: a real HTTP server on 127.0.0.1 (Pistache) that stands in for any
// external system in tests (AI detectors, the humanizer model, Stripe...). Each instance
// listens on its own free port, answers every request through a test-supplied handler
// and records every request it received.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace testing_support {

struct RecordedRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string path;                                          // Resource without the query: "/v1/x".
  std::string query;                                         // "a=1&b=2" (order unspecified) or "".
  std::map<std::string, std::string> query_params;           // Decoded by Pistache.
  std::vector<std::pair<std::string, std::string>> headers;  // Names as Pistache reports them.
  std::string body;                                          // Raw bytes as received.

  // The value of the first header named `name` (ASCII case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
};

struct FakeResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // Extra response headers.
  // Answer only after this long. The delay never blocks the server: the response is
  // parked with a timer thread and sent from there, so other requests are served
  // meanwhile. A client that gave up by then simply never sees it.
  int64_t delay_ms = 0;

  static FakeResponse json(int status, std::string body, int64_t delay_ms = 0);
};

// Called on a Pistache reactor thread for every request, concurrently with itself when
// several connections are active: it must be thread-safe and must not block (use
// FakeResponse::delay_ms to simulate a slow server). Exceptions become a 500.
using FakeHandler = std::function<FakeResponse(const RecordedRequest&)>;

struct FakeHttpServerOptions {
  int threads = 2;                              // Pistache reactor threads.
  std::size_t max_request_bytes = 1024 * 1024;  // Larger requests get 413.
  std::size_t recorded_requests_max = 10'000;   // Older records are dropped beyond this.
};

class FakeHttpServer {
 public:
  // Starts listening on 127.0.0.1 with a kernel-assigned free port. Throws
  // std::runtime_error if the server cannot start.
  explicit FakeHttpServer(FakeHandler handler, FakeHttpServerOptions options = {});
  // Sends every still-delayed response at once, then stops the server.
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  // "http://127.0.0.1:PORT" (no trailing slash).
  std::string url() const;
  uint16_t port() const;

  // Replaces the handler for requests that arrive from now on.
  void set_handler(FakeHandler handler);

  // Copies of the requests received so far, in arrival order.
  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;
  // Requests whose path equals `path`.
  std::vector<RecordedRequest> requests_to(std::string_view path) const;
  void clear_requests();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace testing_support
