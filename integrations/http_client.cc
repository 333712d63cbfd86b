// libcurl easy/multi implementation of the outgoing-HTTP wrapper.
#include "integrations/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace integrations {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPollIntervalMsMax = 1'000;
constexpr const char* kUserAgent = "credit-ledger/1.0";

int64_t elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

HttpResponse failed(HttpResponse::Failure failure, std::string error, int64_t latency_ms) {
  HttpResponse response;
  response.failure = failure;
  response.error = std::move(error);
  response.latency_ms = latency_ms;
  return response;
}

// One easy handle with everything it points to; lives until the transfer ends.
struct Transfer {
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  std::string body;
  bool body_too_large = false;
  char error_buffer[CURL_ERROR_SIZE] = {};
  Clock::time_point started;

  Transfer() : easy(curl_easy_init()) {
    if (easy == nullptr) throw std::runtime_error("curl_easy_init failed");
  }
  ~Transfer() {
    curl_slist_free_all(header_list);
    curl_easy_cleanup(easy);
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (transfer->body.size() + bytes > kResponseBodyBytesMax) {
    transfer->body_too_large = true;
    return 0;  // Makes curl abort with CURLE_WRITE_ERROR.
  }
  transfer->body.append(data, bytes);
  return bytes;
}

// Returns an error message when the request cannot be sent as given, else "".
std::string validate(const HttpRequest& request) {
  static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  if (std::find(std::begin(kMethods), std::end(kMethods), request.method) == std::end(kMethods)) {
    return "invalid request: unsupported method '" + request.method + "'";
  }
  if (request.url.rfind("http://", 0) != 0 && request.url.rfind("https://", 0) != 0) {
    return "invalid request: url must start with http:// or https://";
  }
  if (request.timeout_ms < 1 || request.timeout_ms > kTimeoutMsMax ||
      request.connect_timeout_ms < 1 || request.connect_timeout_ms > kTimeoutMsMax) {
    return "invalid request: timeouts must be within 1.." + std::to_string(kTimeoutMsMax) + " ms";
  }
  return "";
}

void set_method_and_body(CURL* easy, const HttpRequest& request) {
  if (request.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    return;
  }
  if (request.method != "POST")
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
}

// Points the transfer's easy handle at `request`, which must outlive the transfer.
void configure(Transfer& transfer, const HttpRequest& request) {
  CURL* easy = transfer.easy;
  for (const auto& [name, value] : request.headers) {
    const std::string line = value.empty() ? name + ";" : name + ": " + value;
    transfer.header_list = curl_slist_append(transfer.header_list, line.c_str());
  }
  // Servers that never answer "Expect: 100-continue" would stall us for a second.
  transfer.header_list = curl_slist_append(transfer.header_list, "Expect:");
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.header_list);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, request.connect_timeout_ms);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kResponseBodyBytesMax));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &write_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error_buffer);
  set_method_and_body(easy, request);
  transfer.started = Clock::now();
}

HttpResponse::Failure classify(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return HttpResponse::Failure::kNone;
    case CURLE_OPERATION_TIMEDOUT:
      return HttpResponse::Failure::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return HttpResponse::Failure::kConnect;
    default:
      return HttpResponse::Failure::kOther;
  }
}

HttpResponse finish(Transfer& transfer, CURLcode code) {
  const int64_t latency_ms = elapsed_ms(transfer.started);
  if (transfer.body_too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return failed(HttpResponse::Failure::kOther,
                  "response body exceeds " + std::to_string(kResponseBodyBytesMax) + " bytes",
                  latency_ms);
  }
  if (code != CURLE_OK) {
    const std::string detail =
        transfer.error_buffer[0] != '\0' ? transfer.error_buffer : curl_easy_strerror(code);
    return failed(classify(code), detail, latency_ms);
  }
  HttpResponse response;
  curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &response.status);
  response.body = std::move(transfer.body);
  response.latency_ms = latency_ms;
  assert(response.status >= 100);
  return response;
}

// The state of one perform_all call: which requests run, which are done.
class MultiRun {
 public:
  MultiRun(const std::vector<HttpRequest>& requests, std::size_t max_in_flight)
      : requests_(requests),
        max_in_flight_(max_in_flight == 0 ? requests.size() : max_in_flight),
        multi_(curl_multi_init()),
        transfers_(requests.size()),
        responses_(requests.size()) {
    if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
  }
  ~MultiRun() {
    for (auto& transfer : transfers_) {
      if (transfer) curl_multi_remove_handle(multi_, transfer->easy);
    }
    curl_multi_cleanup(multi_);
  }
  MultiRun(const MultiRun&) = delete;
  MultiRun& operator=(const MultiRun&) = delete;

  std::vector<HttpResponse> run(int64_t overall_deadline_ms) {
    const Clock::time_point deadline =
        Clock::now() + std::chrono::milliseconds(overall_deadline_ms);
    while (true) {
      start_more();
      int still_running = 0;
      curl_multi_perform(multi_, &still_running);
      if (collect_finished() > 0) continue;  // Start queued requests before waiting.
      if (in_flight_ == 0 && next_ == requests_.size()) break;
      const auto remaining =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (remaining.count() <= 0) break;
      const int wait_ms =
          static_cast<int>(std::min<int64_t>(remaining.count(), kPollIntervalMsMax));
      curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
    }
    abort_unfinished(overall_deadline_ms);
    return std::move(responses_);
  }

 private:
  void start_more() {
    while (in_flight_ < max_in_flight_ && next_ < requests_.size()) {
      const std::size_t index = next_++;
      const std::string invalid = validate(requests_[index]);
      if (!invalid.empty()) {
        responses_[index] = failed(HttpResponse::Failure::kOther, invalid, 0);
        continue;
      }
      transfers_[index] = std::make_unique<Transfer>();
      configure(*transfers_[index], requests_[index]);
      curl_easy_setopt(transfers_[index]->easy, CURLOPT_PRIVATE, reinterpret_cast<char*>(index));
      curl_multi_add_handle(multi_, transfers_[index]->easy);
      in_flight_ += 1;
    }
  }

  int collect_finished() {
    int finished = 0;
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      char* private_data = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &private_data);
      const auto index = reinterpret_cast<std::size_t>(private_data);
      assert(index < transfers_.size() && transfers_[index]);
      responses_[index] = finish(*transfers_[index], message->data.result);
      curl_multi_remove_handle(multi_, message->easy_handle);
      transfers_[index].reset();
      in_flight_ -= 1;
      finished += 1;
    }
    return finished;
  }

  void abort_unfinished(int64_t overall_deadline_ms) {
    const std::string error =
        "overall deadline of " + std::to_string(overall_deadline_ms) + " ms expired";
    for (std::size_t index = 0; index < transfers_.size(); ++index) {
      if (transfers_[index]) {
        responses_[index] =
            failed(HttpResponse::Failure::kTimeout, error, elapsed_ms(transfers_[index]->started));
        curl_multi_remove_handle(multi_, transfers_[index]->easy);
        transfers_[index].reset();
      }
    }
    for (std::size_t index = next_; index < requests_.size(); ++index) {
      responses_[index] = failed(HttpResponse::Failure::kTimeout, error + " before start", 0);
    }
    in_flight_ = 0;
  }

  const std::vector<HttpRequest>& requests_;
  const std::size_t max_in_flight_;
  CURLM* multi_;
  std::vector<std::unique_ptr<Transfer>> transfers_;  // Non-null while in flight.
  std::vector<HttpResponse> responses_;
  std::size_t next_ = 0;
  std::size_t in_flight_ = 0;
};

}  // namespace

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}


std::string_view failure_name(HttpResponse::Failure failure) {
  switch (failure) {
    case HttpResponse::Failure::kNone:
      return "none";
    case HttpResponse::Failure::kTimeout:
      return "timeout";
    case HttpResponse::Failure::kConnect:
      return "connect";
    case HttpResponse::Failure::kOther:
      return "other";
  }
  return "other";
}

HttpResponse perform(const HttpRequest& request) {
  ensure_curl_initialized();
  const std::string invalid = validate(request);
  if (!invalid.empty()) return failed(HttpResponse::Failure::kOther, invalid, 0);
  Transfer transfer;
  configure(transfer, request);
  const CURLcode code = curl_easy_perform(transfer.easy);
  return finish(transfer, code);
}

std::vector<HttpResponse> perform_all(const std::vector<HttpRequest>& requests,
                                      int64_t overall_deadline_ms, std::size_t max_in_flight) {
  ensure_curl_initialized();
  if (requests.size() > kParallelRequestsMax || overall_deadline_ms < 1) {
    const std::string error = requests.size() > kParallelRequestsMax
                                  ? "invalid request: more than " +
                                        std::to_string(kParallelRequestsMax) + " parallel requests"
                                  : "invalid request: overall deadline must be >= 1 ms";
    return std::vector<HttpResponse>(requests.size(),
                                     failed(HttpResponse::Failure::kOther, error, 0));
  }
  if (requests.empty()) return {};
  MultiRun run(requests, max_in_flight);
  std::vector<HttpResponse> responses = run.run(overall_deadline_ms);
  assert(responses.size() == requests.size());
  return responses;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  ensure_curl_initialized();
  Transfer escaper;  // curl_easy_escape wants a handle on older libcurl versions.
  auto escape = [&escaper](const std::string& raw) {
    char* escaped = curl_easy_escape(escaper.easy, raw.data(), static_cast<int>(raw.size()));
    if (escaped == nullptr) throw std::runtime_error("curl_easy_escape failed");
    std::string result(escaped);
    curl_free(escaped);
    return result;
  };
  std::string encoded;
  for (const auto& [name, value] : fields) {
    if (!encoded.empty()) encoded.push_back('&');
    encoded += escape(name);
    encoded.push_back('=');
    encoded += escape(value);
  }
  return encoded;
}

std::pair<std::string, std::string> bearer_header(std::string_view token) {
  return {"Authorization", "Bearer " + std::string(token)};
}

}  // namespace integrations
