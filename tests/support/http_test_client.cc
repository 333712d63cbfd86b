// libcurl easy handle per thread, header capture, and a raw socket exchange.
#include "tests/support/http_test_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "tests/support/openapi_contract.h"

namespace testing_support {
namespace {

struct CurlHandle {
  CURL* handle = nullptr;
  CurlHandle() {
    static const bool initialised = (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
    (void)initialised;
    handle = curl_easy_init();
  }
  ~CurlHandle() {
    if (handle != nullptr) curl_easy_cleanup(handle);
  }
};

thread_local CurlHandle t_curl;

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  const std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    static_cast<std::map<std::string, std::string>*>(user)->insert_or_assign(name, value);
  }
  return size * count;
}

}  // namespace

std::string TestResponse::header(const std::string& lower_case_name) const {
  const auto it = headers.find(lower_case_name);
  return it == headers.end() ? "" : it->second;
}

TestResponse http_request(const std::string& method, const std::string& url,
                          const TestHeaders& headers, const std::string& body, long timeout_ms) {
  TestResponse response;
  CURL* curl = t_curl.handle;
  curl_easy_reset(curl);
  curl_slist* header_list = curl_slist_append(nullptr, "Expect:");
  header_list = curl_slist_append(header_list, "Connection: keep-alive");
  for (const auto& [name, value] : headers) {
    header_list = curl_slist_append(header_list, (name + ": " + value).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 3000L));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  } else {
    response.error = curl_easy_strerror(code);
  }
  curl_slist_free_all(header_list);
  if (response.status != 0 && checks_responses_from(url)) {
    // The contract test: every response of ledgerd the suites receive, checked against
    // docs/openapi.json.
    if (auto problem = contract_problem(method, url, response.status,
                                        response.header("content-type"), response.body)) {
      ADD_FAILURE() << "OpenAPI contract: " << *problem;
    }
  }
  return response;
}

TestResponse http_get(const std::string& url, const TestHeaders& headers, long timeout_ms) {
  return http_request("GET", url, headers, "", timeout_ms);
}

TestResponse http_post(const std::string& url, const TestHeaders& headers, const std::string& body,
                       long timeout_ms) {
  return http_request("POST", url, headers, body, timeout_ms);
}

std::optional<double> metric_sample(const std::string& exposition, const std::string& name) {
  const std::string prefix = name + " ";
  std::size_t line_start = 0;
  while (line_start < exposition.size()) {
    const std::size_t line_end = std::min(exposition.find('\n', line_start), exposition.size());
    if (exposition.compare(line_start, prefix.size(), prefix) == 0) {
      return std::stod(exposition.substr(line_start + prefix.size(),
                                         line_end - line_start - prefix.size()));
    }
    line_start = line_end + 1;
  }
  return std::nullopt;
}

bool wait_for_metric(const std::string& metrics_url, const std::string& name, double value,
                     long timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    const TestResponse metrics = http_get(metrics_url, {});
    if (metrics.status == 200 && metric_sample(metrics.body, name) == value) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

RawConnection::RawConnection(int port, const std::string& local_address) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  if (!local_address.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, local_address.c_str(), &local.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      return;
    }
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(const std::string& bytes) {
  return connected_ &&
         ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

std::string RawConnection::receive(long timeout_ms, bool until_complete_response) {
  std::string answer;
  if (!connected_) return answer;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd poll_fd{fd_, POLLIN, 0};
    if (::poll(&poll_fd, 1, 50) <= 0) {
      if (!until_complete_response) continue;
      // A complete response with a body length we can check ends the exchange early.
      const auto end = answer.find("\r\n\r\n");
      const auto length_at = answer.find("Content-Length: ");
      if (end != std::string::npos && length_at != std::string::npos && length_at < end) {
        const auto length = std::stoul(answer.substr(length_at + 16));
        if (answer.size() >= end + 4 + length) break;
      }
      continue;
    }
    const ssize_t count = ::recv(fd_, buffer, sizeof buffer, 0);
    if (count <= 0) {
      closed_by_server_ = true;
      break;
    }
    answer.append(buffer, static_cast<std::size_t>(count));
  }
  return answer;
}

std::string raw_http_exchange(int port, const std::string& raw, long timeout_ms,
                              const std::string& local_address) {
  RawConnection connection(port, local_address);
  if (!connection.send(raw)) return "";
  return connection.receive(timeout_ms);
}

}  // namespace testing_support
