// HTTP client for end-to-end tests of ledgerd (libcurl): unlike integrations/http_client,
// it returns response headers and keeps one connection per thread alive, so load tests
// measure the server rather than connection set-up.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace testing_support {

struct TestResponse {
  long status = 0;  // 0: transport failure (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string error;

  // The header value or "" when absent (name in lower case).
  std::string header(const std::string& lower_case_name) const;
};

using TestHeaders = std::vector<std::pair<std::string, std::string>>;

// Performs one request on this thread's reused connection. Never throws; `timeout_ms`
// bounds the whole exchange. "Expect:" is always sent empty (Pistache ignores 100-continue)
// and "Connection: keep-alive" so Pistache keeps the socket.
TestResponse http_request(const std::string& method, const std::string& url,
                          const TestHeaders& headers, const std::string& body,
                          long timeout_ms = 10'000);
TestResponse http_get(const std::string& url, const TestHeaders& headers, long timeout_ms = 10'000);
TestResponse http_post(const std::string& url, const TestHeaders& headers, const std::string& body,
                       long timeout_ms = 10'000);

// The value of the unlabelled sample `name` in a Prometheus text exposition (the body of
// GET /metrics), or nullopt when there is no such line.
std::optional<double> metric_sample(const std::string& exposition, const std::string& name);

// Polls `metrics_url` (GET, this thread's connection) until its sample `name` equals
// `value`; false when it did not within `timeout_ms`.
bool wait_for_metric(const std::string& metrics_url, const std::string& name, double value,
                     long timeout_ms = 5'000);

// A client TCP connection to 127.0.0.1:port, held open until destroyed (connection limits),
// optionally made from another loopback address such as "127.0.0.2" (per-address limits).
class RawConnection {
 public:
  explicit RawConnection(int port, const std::string& local_address = "");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& bytes);
  // What the server sends within `timeout_ms`, ending early when the server closes or, with
  // `until_complete_response`, once a response with a Content-Length is complete.
  std::string receive(long timeout_ms, bool until_complete_response = true);
  // True once receive() saw the server end the connection (end of stream or reset).
  bool closed_by_server() const { return closed_by_server_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_by_server_ = false;
};

// Sends `raw` bytes on a fresh TCP connection to 127.0.0.1:port (from `local_address` when
// given) and returns what the server answered before closing or `timeout_ms` (for malformed
// requests curl cannot send).
std::string raw_http_exchange(int port, const std::string& raw, long timeout_ms = 5'000,
                              const std::string& local_address = "");

}  // namespace testing_support
