// Pistache endpoint and handler. The reactor thread only copies the request and queues it;
// everything that can block runs on the worker pool, which sends the response itself.
#include "http/server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <spdlog/spdlog.h>

#include <cassert>
#include <thread>

#include "crypto/digest.h"

namespace http {
namespace {

using Pistache::Http::ResponseWriter;
using Clock = std::chrono::steady_clock;

// Headers beyond the body that a request may carry (Pistache's own limit covers both).
constexpr std::size_t kHeaderBytesMax = 16 * 1024;

IncomingRequest copy_request(const Pistache::Http::Request& request) {
  IncomingRequest incoming;
  incoming.method = Pistache::Http::methodString(request.method());
  incoming.path = request.resource();
  const auto& query = request.query();
  for (auto it = query.parameters_begin(); it != query.parameters_end(); ++it) {
    incoming.query.emplace(it->first, it->second);
  }
  // Authorization is a typed header in Pistache (never in the raw list).
  if (const auto authorization =
          request.headers().tryGet<Pistache::Http::Header::Authorization>()) {
    incoming.authorization = authorization->value();
  }
  if (const auto key = request.headers().tryGetRaw("Idempotency-Key")) {
    incoming.idempotency_key = key->value();
  }
  if (const auto signature = request.headers().tryGetRaw("Stripe-Signature")) {
    incoming.stripe_signature = signature->value();
  }
  incoming.body = request.body();
  incoming.request_id = crypto::uuid_v4();
  return incoming;
}

// A response header with a name chosen at run time: Pistache 0.0.5 writes only typed
// headers (a Raw header added to a response is silently dropped).
class ResponseHeader : public Pistache::Http::Header::Header {
 public:
  ResponseHeader(const char* name, std::string value) : name_(name), value_(std::move(value)) {}
  const char* name() const override { return name_; }
  void write(std::ostream& stream) const override { stream << value_; }
#ifdef SAFE_HEADER_CAST
  uint64_t hash() const override { return Pistache::Http::Header::detail::hash(name_); }
#endif

 private:
  const char* name_;  // a string literal
  std::string value_;
};

void add_header(ResponseWriter& writer, const char* name, std::string value) {
  writer.headers().add(std::make_shared<ResponseHeader>(name, std::move(value)));
}

void send_reply(ResponseWriter& writer, const HttpReply& reply, const std::string& request_id) {
  add_header(writer, "X-Request-Id", request_id);
  if (reply.retry_after_s > 0)
    add_header(writer, "Retry-After", std::to_string(reply.retry_after_s));
  if (!reply.allow.empty()) add_header(writer, "Allow", reply.allow);
  if (reply.replayed) add_header(writer, "Idempotent-Replayed", "true");
  writer.send(static_cast<Pistache::Http::Code>(reply.status), reply.body,
              Pistache::Http::Mime::MediaType::fromString(reply.content_type));
}

// Sends, logs one line and records the request metrics. Never throws.
void finish_request(ServerCore& core, ResponseWriter& writer, const IncomingRequest& request,
                    const HttpReply& reply, const RequestLog& log, Clock::time_point started) {
  try {
    send_reply(writer, reply, request.request_id);
  } catch (const std::exception& error) {
    // The peer went away; there is nobody to answer.
    spdlog::debug("request_id={} response not sent: {}", request.request_id, error.what());
  }
  const double latency_s = std::chrono::duration<double>(Clock::now() - started).count();
  core.metrics.observe_request(request.method, log.route_template, reply.status, latency_s);
  spdlog::info(
      "request method={} route={} status={} latency_ms={:.2f} account={} request_id={}{}{}",
      request.method, log.route_template, reply.status, latency_s * 1e3,
      log.account_id.empty() ? "-" : log.account_id, request.request_id,
      log.detail.empty() ? "" : " detail=", log.detail);
}

class RequestHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(RequestHandler)

  explicit RequestHandler(std::shared_ptr<ServerCore> core) : core_(std::move(core)) {}

  void onRequest(const Pistache::Http::Request& request, ResponseWriter response) override {
    const Clock::time_point started = Clock::now();
    auto writer = std::make_shared<ResponseWriter>(std::move(response));
    try {
      admit(copy_request(request), writer, started);
    } catch (const std::exception& error) {
      spdlog::error("request not admitted: {}", error.what());
      IncomingRequest unknown;
      finish_request(*core_, *writer, unknown, json_error(500, "internal_error"), RequestLog{},
                     started);
    }
  }

 private:
  void admit(IncomingRequest incoming, const std::shared_ptr<ResponseWriter>& writer,
             Clock::time_point started) {
    ServerCore& core = *core_;
    if (core.draining.load()) {
      RequestLog log;
      log.detail = "draining";
      finish_request(core, *writer, incoming, service_unavailable(), log, started);
      return;
    }
    if (incoming.body.size() > core.options.max_body_bytes) {
      finish_request(core, *writer, incoming,
                     json_error(413, "payload_too_large",
                                {{"max_bytes", static_cast<int64_t>(core.options.max_body_bytes)}}),
                     RequestLog{}, started);
      return;
    }
    auto shared_request = std::make_shared<IncomingRequest>(std::move(incoming));
    const bool queued = core.pool.try_submit([core_ptr = core_, writer, shared_request, started] {
      RequestLog log;
      const HttpReply reply = core_ptr->service.handle(*shared_request, log);
      finish_request(*core_ptr, *writer, *shared_request, reply, log, started);
    });
    if (!queued) {
      RequestLog log;
      log.detail = "worker_queue_full";
      finish_request(core, *writer, *shared_request, service_unavailable(), log, started);
    }
  }

  std::shared_ptr<ServerCore> core_;
};

}  // namespace

HttpServer::HttpServer(ServerOptions options, LedgerService& service, Metrics& metrics)
    : core_(std::make_shared<ServerCore>(options, service, metrics)) {
  assert(options.reactor_threads >= 1);
  assert(options.max_body_bytes >= 1);
}

HttpServer::~HttpServer() {
  if (endpoint_) endpoint_->shutdown();
}

void HttpServer::start() {
  assert(!endpoint_);
  const ServerOptions& options = core_->options;
  const Pistache::Address address(options.bind_address, Pistache::Port(options.port));
  endpoint_ = std::make_unique<Pistache::Http::Endpoint>(address);
  // Larger than the body limit so that an oversized body still reaches our JSON 413.
  const std::size_t request_bytes_max = 2 * options.max_body_bytes + kHeaderBytesMax;
  endpoint_->init(Pistache::Http::Endpoint::options()
                      .threads(options.reactor_threads)
                      .flags(Pistache::Tcp::Options::ReuseAddr)
                      .maxRequestSize(request_bytes_max)
                      .headerTimeout(std::chrono::milliseconds(options.header_timeout_ms))
                      .bodyTimeout(std::chrono::milliseconds(options.body_timeout_ms))
                      .keepaliveTimeout(std::chrono::milliseconds(options.keepalive_timeout_ms)));
  endpoint_->setHandler(Pistache::Http::make_handler<RequestHandler>(core_));
  endpoint_->serveThreaded();
}

bool HttpServer::drain_and_stop(std::chrono::milliseconds grace) {
  assert(endpoint_);
  core_->draining.store(true);
  const bool drained = core_->pool.drain(grace);
  // Responses are written by the reactor threads from their queues: let them go out.
  std::this_thread::sleep_for(std::chrono::milliseconds(core_->options.write_flush_ms));
  endpoint_->shutdown();
  endpoint_.reset();
  return drained;
}

void HttpServer::fill_gauges(MetricsGauges& gauges) const {
  gauges.worker_queue_depth = static_cast<int64_t>(core_->pool.queue_depth());
  gauges.workers_busy = static_cast<int64_t>(core_->pool.busy_count());
}

}  // namespace http
