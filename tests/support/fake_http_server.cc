// Pistache 0.0.5 implementation of FakeHttpServer. Delayed responses: the handler moves
// the ResponseWriter into a queue served by one timer thread (sending from a non-reactor
// thread is supported by Pistache), so a slow fake never stalls a reactor thread.
#include "tests/support/fake_http_server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/net.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace testing_support {
namespace {

namespace Http = Pistache::Http;
using Clock = std::chrono::steady_clock;

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

RecordedRequest record(const Http::Request& request) {
  RecordedRequest recorded;
  recorded.method = Http::methodString(request.method());
  recorded.path = request.resource();
  const std::string query = request.query().as_str();
  recorded.query = query.empty() ? "" : query.substr(1);  // as_str() starts with '?'.
  for (auto it = request.query().parameters_begin(); it != request.query().parameters_end(); ++it) {
    recorded.query_params.emplace(it->first, it->second);
  }
  // Pistache keeps registered headers (Content-Type, Authorization...) typed and the
  // rest raw; record both as text.
  for (const auto& header : request.headers().list()) {
    std::ostringstream value;
    header->write(value);
    recorded.headers.emplace_back(header->name(), value.str());
  }
  for (const auto& [name, raw] : request.headers().rawList()) {
    recorded.headers.emplace_back(raw.name(), raw.value());
  }
  recorded.body = request.body();
  return recorded;
}

Http::Mime::MediaType parse_media_type(const std::string& content_type) {
  try {
    return Http::Mime::MediaType::fromString(content_type);
  } catch (...) {
    return Http::Mime::MediaType();  // Unparsable: sent without a Content-Type.
  }
}

void send_response(Http::ResponseWriter& writer, const FakeResponse& response) {
  try {
    for (const auto& [name, value] : response.headers) {
      writer.headers().addRaw(Http::Header::Raw(name, value));
    }
    writer.send(static_cast<Http::Code>(response.status), response.body,
                parse_media_type(response.content_type));
  } catch (...) {
    // The client went away (e.g. it timed out first): nothing left to answer.
  }
}

}  // namespace

struct FakeHttpServer::Impl {
  // Shared with the handler clones on the reactor threads.
  struct State {
    mutable std::mutex mutex;
    FakeHandler handler;
    std::deque<RecordedRequest> recorded;
    std::size_t recorded_max = 0;

    struct Delayed {
      Http::ResponseWriter writer;
      FakeResponse response;
    };
    std::multimap<Clock::time_point, Delayed> delayed;
    std::condition_variable delayed_changed;
    bool stopping = false;
  };

  class Handler : public Http::Handler {
   public:
    HTTP_PROTOTYPE(Handler)
    explicit Handler(std::shared_ptr<State> state) : state_(std::move(state)) {}

    void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
      FakeResponse response;
      try {
        RecordedRequest recorded = record(request);
        FakeHandler handler;
        {
          std::lock_guard lock(state_->mutex);
          handler = state_->handler;
          state_->recorded.push_back(recorded);
          if (state_->recorded.size() > state_->recorded_max) state_->recorded.pop_front();
        }
        response = handler(recorded);
      } catch (...) {
        response = FakeResponse::json(500, "{\"error\":\"fake handler threw\"}");
      }
      if (response.delay_ms <= 0) {
        send_response(writer, response);
        return;
      }
      std::lock_guard lock(state_->mutex);
      if (state_->stopping) {
        send_response(writer, response);
        return;
      }
      const auto due = Clock::now() + std::chrono::milliseconds(response.delay_ms);
      state_->delayed.emplace(due, State::Delayed{std::move(writer), std::move(response)});
      state_->delayed_changed.notify_all();
    }

   private:
    std::shared_ptr<State> state_;
  };

  std::shared_ptr<State> state = std::make_shared<State>();
  std::unique_ptr<Http::Endpoint> endpoint;
  std::thread delay_thread;
  uint16_t port = 0;

  // Sends parked responses when due; when stopping, sends all of them at once.
  void run_delayed() {
    std::unique_lock lock(state->mutex);
    while (true) {
      if (state->delayed.empty()) {
        if (state->stopping) return;
        state->delayed_changed.wait(lock);
        continue;
      }
      const auto due = state->delayed.begin()->first;
      if (!state->stopping && Clock::now() < due) {
        state->delayed_changed.wait_until(lock, due);
        continue;
      }
      auto node = state->delayed.extract(state->delayed.begin());
      lock.unlock();
      send_response(node.mapped().writer, node.mapped().response);
      lock.lock();
    }
  }
};

FakeResponse FakeResponse::json(int status, std::string body, int64_t delay_ms) {
  FakeResponse response;
  response.status = status;
  response.body = std::move(body);
  response.delay_ms = delay_ms;
  return response;
}

std::optional<std::string> RecordedRequest::header(std::string_view name) const {
  for (const auto& [header_name, value] : headers) {
    if (equals_ignore_case(header_name, name)) return value;
  }
  return std::nullopt;
}

FakeHttpServer::FakeHttpServer(FakeHandler handler, FakeHttpServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  std::signal(SIGPIPE, SIG_IGN);  // Writing to a client that hung up must not kill tests.
  impl_->state->handler = std::move(handler);
  impl_->state->recorded_max = options.recorded_requests_max;

  const Pistache::Address address(Pistache::IP::loopback(), Pistache::Port(0));
  impl_->endpoint = std::make_unique<Http::Endpoint>(address);
  impl_->endpoint->init(Http::Endpoint::options()
                            .threads(std::max(options.threads, 1))
                            .flags(Pistache::Tcp::Options::ReuseAddr)
                            .maxRequestSize(options.max_request_bytes)
                            // Pistache applies these to a request whose response is still
                            // pending: they must outlast the longest FakeResponse::delay_ms.
                            .headerTimeout(std::chrono::minutes(5))
                            .bodyTimeout(std::chrono::minutes(5))
                            .keepaliveTimeout(std::chrono::seconds(2)));
  impl_->endpoint->setHandler(std::make_shared<Impl::Handler>(impl_->state));
  impl_->endpoint->serveThreaded();  // Binds (port 0: the kernel picks a free port).
  impl_->port = static_cast<uint16_t>(impl_->endpoint->getPort());
  if (impl_->port == 0) throw std::runtime_error("FakeHttpServer: no port was assigned");
  impl_->delay_thread = std::thread([impl = impl_.get()] { impl->run_delayed(); });
}

FakeHttpServer::~FakeHttpServer() {
  {
    std::lock_guard lock(impl_->state->mutex);
    impl_->state->stopping = true;
    impl_->state->delayed_changed.notify_all();
  }
  impl_->delay_thread.join();
  impl_->endpoint->shutdown();
}

std::string FakeHttpServer::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

uint16_t FakeHttpServer::port() const { return impl_->port; }

void FakeHttpServer::set_handler(FakeHandler handler) {
  std::lock_guard lock(impl_->state->mutex);
  impl_->state->handler = std::move(handler);
}

std::vector<RecordedRequest> FakeHttpServer::requests() const {
  std::lock_guard lock(impl_->state->mutex);
  return {impl_->state->recorded.begin(), impl_->state->recorded.end()};
}

std::size_t FakeHttpServer::request_count() const {
  std::lock_guard lock(impl_->state->mutex);
  return impl_->state->recorded.size();
}

std::vector<RecordedRequest> FakeHttpServer::requests_to(std::string_view path) const {
  std::vector<RecordedRequest> matching;
  for (RecordedRequest& request : requests()) {
    if (request.path == path) matching.push_back(std::move(request));
  }
  return matching;
}

void FakeHttpServer::clear_requests() {
  std::lock_guard lock(impl_->state->mutex);
  impl_->state->recorded.clear();
}

}  // namespace testing_support
