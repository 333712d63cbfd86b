// HTTP client for end-to-end tests of ledgerd (libcurl): unlike integrations/http_client,
// it returns response headers and keeps one connection per thread alive, so load tests
// measure the server rather than connection set-up.
#pragma once

#include <map>
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

// Sends `raw` bytes on a fresh TCP connection to 127.0.0.1:port and returns what the
// server answered before closing or `timeout_ms` (for malformed requests curl cannot send).
std::string raw_http_exchange(int port, const std::string& raw, long timeout_ms = 5'000);

}  // namespace testing_support
