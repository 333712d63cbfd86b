// Pistache endpoint and handler. The reactor thread counts connections, copies the request
// and queues it in its bulkhead's pool; everything that can block runs on the worker pools,
// which send the responses themselves. The routes that write one command (reserve, capture,
// release, grant, refund, reopen) submit it with a completion instead of waiting, and the
// committer's lane thread that decides it sends the reply. Reserve, capture and release
// with a credential that needs no database (LedgerService::handles_without_blocking) are
// not even queued: the reactor validates and submits them itself, so such a write costs two
// thread hops (reactor, lane, reactor) where a worker would add two more.
#include "http/server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/meta.h>
#include <pistache/peer.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <thread>

#include "crypto/digest.h"
#include "http/client_address.h"
#include "http/read_connection.h"
#include "http/route_table.h"

namespace http {
namespace {

using Pistache::Http::ResponseWriter;
using Clock = std::chrono::steady_clock;

// Headers beyond the body that a request may carry (Pistache's own limit covers both).
constexpr std::size_t kHeaderBytesMax = 16 * 1024;

// The peer data under which each connection keeps its ConnectionSlot.
constexpr const char* kConnectionSlotKey = "ledger.connection_slot";

// One accepted connection's place in ConnectionCounts::open, held by its Pistache peer and
// given back when the peer is destroyed. Pistache closes timed-out peers (header, body and
// keep-alive timeouts) without calling onDisconnection, so only the peer's lifetime counts
// every path by which a connection ends.
struct ConnectionSlot {
  ConnectionSlot(std::shared_ptr<ConnectionCounts> shared_counts, int socket)
      : counts(std::move(shared_counts)),
        open_at_acceptance(counts->open.fetch_add(1) + 1),
        fd(socket) {}
  ~ConnectionSlot() { counts->open.fetch_sub(1); }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

  const std::shared_ptr<ConnectionCounts> counts;
  const int64_t open_at_acceptance;  // this connection included
  const int fd;                      // the connection's socket (Pistache closes it)
  // Answered on its socket and shut down for writing (503 above the cap, or 413 for a body
  // announced above the limit): its requests are ignored. Reactor thread only.
  bool refused = false;
  // Refused with the early 413 (HeadersStepRefusingLargeBodies): whether that answer is
  // written, and whether the request's body has been read (when both, the socket is shut
  // down both ways and the reactor closes the connection). Reactor thread only.
  bool payload_refused = false;
  bool payload_answer_written = false;
  bool payload_body_read = false;
  // Requests of this connection being handled (in a worker, or a command of theirs in the
  // committer; counted up on the reactor thread at dispatch, down on whichever thread
  // finishes the response); read by the reactor's idle check.
  std::atomic<int> requests_in_progress{0};
  // The connection's peer, for answers written by the parser (HeadersStepRefusingLargeBodies).
  std::weak_ptr<Pistache::Tcp::Peer> peer;
};

namespace pistache_private = Pistache::Http::Private;

// Pistache 0.0.5 resets a connection's parser when it dispatches a request and, until the
// response is sent, applies the header timeout to it as if the client were slow to send
// headers: every request handled for longer than --header_timeout_ms (a humanize request
// waits up to 120 s on the model) would be answered 408 and its connection closed while the
// worker goes on, and charges. Pistache's idle check leaves alone a connection whose parser
// step it does not know, so the first step (waiting for a request line) reports an id of
// its own while the connection has a request in progress (on a worker, or its command in
// the committer), and is Pistache's step otherwise.
class RequestLineStepUnlessHandling : public pistache_private::Step {
 public:
  static constexpr pistache_private::StepId kHandlingId =
      Pistache::Meta::Hash::fnv1a("LedgerRequestInProgress");

  RequestLineStepUnlessHandling(Pistache::Http::Request* request,
                                std::unique_ptr<pistache_private::Step> request_line,
                                std::shared_ptr<const ConnectionSlot> slot)
      : Step(request), request_line_(std::move(request_line)), slot_(std::move(slot)) {
    assert(request_line_->id() == pistache_private::RequestLineStep::Id);
  }

  pistache_private::StepId id() const override {
    return slot_->requests_in_progress.load() > 0 ? kHandlingId : request_line_->id();
  }
  pistache_private::State apply(Pistache::StreamCursor& cursor) override {
    return request_line_->apply(cursor);
  }

 private:
  const std::unique_ptr<pistache_private::Step> request_line_;
  const std::shared_ptr<const ConnectionSlot> slot_;
};

// 413 payload_too_large {max_bytes}: a body above --max_body_bytes.
HttpReply payload_too_large(std::size_t max_body_bytes) {
  return json_error(413, "payload_too_large",
                    {{"max_bytes", static_cast<int64_t>(max_body_bytes)}});
}

// `reply` as the raw bytes of a whole HTTP/1.1 answer that closes its connection, for the
// answers ledgerd writes without a ResponseWriter (the connection cap's 503, the early 413).
// Retry-After when the reply has one, X-Request-Id when `request_id` is not empty.
std::string closing_answer(const HttpReply& reply, std::string_view request_id = "") {
  std::string answer = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                       Pistache::Http::codeString(static_cast<Pistache::Http::Code>(reply.status)) +
                       "\r\nConnection: close\r\nContent-Type: " + reply.content_type + "\r\n";
  if (reply.retry_after_s > 0) {
    answer += "Retry-After: " + std::to_string(reply.retry_after_s) + "\r\n";
  }
  if (!request_id.empty()) answer += "X-Request-Id: " + std::string(request_id) + "\r\n";
  return answer + "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body;
}

// The request's log line: one per answered request, whoever answers it.
void log_request(std::string_view method, const RequestLog& log, int status, double latency_s,
                 std::string_view request_id) {
  spdlog::info(
      "request method={} route={} status={} latency_ms={:.2f} account={} request_id={}{}{}", method,
      log.route_template, status, latency_s * 1e3, log.account_id.empty() ? "-" : log.account_id,
      request_id, log.detail.empty() ? "" : " detail=", log.detail);
}

// Pistache 0.0.5 buffers a request whole, up to the endpoint's maxRequestSize (twice the
// body limit plus headers, so that a body a little above the limit still reaches the JSON
// 413 of admit()). Above that it answers with a plain-text 413 of its own and parses the
// rest of the body as new requests. So a request that announces a body above the limit is
// answered when its headers end, before its body: the JSON 413 is queued for the peer, and
// once Pistache has written it the socket is shut down for writing (the client reads the
// answer and end-of-stream). The connection is marked refused, so that nothing Pistache
// makes of the rest (the request when its body is in, or its own 413 and the parse errors
// after it) is handled or, after the shutdown, sent. The connection then ends once the
// answer is written and the body is in (a body up to Pistache's buffer completes a
// request, which onRequest ignores; the socket is then shut down both ways), or else when
// the client closes it or at Pistache's timeouts. Bodies without a Content-Length
// (chunked) keep the two paths above.
class HeadersStepRefusingLargeBodies : public pistache_private::Step {
 public:
  HeadersStepRefusingLargeBodies(Pistache::Http::Request* request,
                                 std::unique_ptr<pistache_private::Step> headers,
                                 std::shared_ptr<ConnectionSlot> slot,
                                 std::weak_ptr<ServerCore> core)
      : Step(request),
        request_(request),
        headers_(std::move(headers)),
        slot_(std::move(slot)),
        core_(std::move(core)) {
    assert(headers_->id() == pistache_private::HeadersStep::Id);
  }

  pistache_private::StepId id() const override { return headers_->id(); }  // its timeouts
  pistache_private::State apply(Pistache::StreamCursor& cursor) override {
    const pistache_private::State state = headers_->apply(cursor);
    // Not while a request of the connection is in progress (a client that sent this one
    // before reading that answer): its answer is still to be handed to Pistache. Answers
    // already handed to it are queued ahead of this one, which Pistache writes in order.
    if (state != pistache_private::State::Next || slot_->refused ||
        slot_->requests_in_progress.load() > 0) {
      return state;
    }
    const auto length = request_->headers().tryGet<Pistache::Http::Header::ContentLength>();
    const std::shared_ptr<ServerCore> core = core_.lock();
    if (!length || !core || length->value() <= core->options.max_body_bytes) return state;
    const std::shared_ptr<Pistache::Tcp::Peer> peer = slot_->peer.lock();
    if (!peer) return state;  // the parser runs for a live peer: not expected
    slot_->refused = true;
    slot_->payload_refused = true;
    const std::string request_id = crypto::uuid_v4();
    const std::string answer =
        closing_answer(payload_too_large(core->options.max_body_bytes), request_id);
    // Queued behind the connection's earlier answers; once written (the continuation runs on
    // this reactor thread, in the write), the socket is shut down for writing, and for
    // reading too if the body is in (see onRequest). A failed write leaves a connection that
    // is going anyway.
    const std::weak_ptr<ConnectionSlot> written_slot = slot_;
    peer->send(Pistache::RawBuffer(answer, answer.size()))
        .then(
            [written_slot](ssize_t) {
              const std::shared_ptr<ConnectionSlot> slot = written_slot.lock();
              if (!slot) return;
              slot->payload_answer_written = true;
              ::shutdown(slot->fd, slot->payload_body_read ? SHUT_RDWR : SHUT_WR);
            },
            [](std::exception_ptr) {});
    // Counted and logged as every answered request is (finish_request).
    const std::string method = Pistache::Http::methodString(request_->method());
    RequestLog log;
    log.route_template = match_route(method, request_->resource()).route_template;
    log.detail = "content_length_" + std::to_string(length->value());
    core->metrics.observe_request(method, log.route_template, 413, 0.0);
    log_request(method, log, 413, 0.0, request_id);
    return state;
  }

 private:
  Pistache::Http::Request* const request_;
  const std::unique_ptr<pistache_private::Step> headers_;
  const std::shared_ptr<ConnectionSlot> slot_;
  const std::weak_ptr<ServerCore> core_;  // the parser may outlive the server's core
};

// Pistache's request parser with the steps above (what Http::Handler::onConnection installs
// on each connection, plus the in-worker exemption and the early 413).
class ConnectionParser : public Pistache::Http::RequestParser {
 public:
  ConnectionParser(std::size_t request_bytes_max, const std::shared_ptr<ConnectionSlot>& slot,
                   const std::shared_ptr<ServerCore>& core)
      : Pistache::Http::RequestParser(request_bytes_max) {
    allSteps[0] =
        std::make_unique<RequestLineStepUnlessHandling>(&request, std::move(allSteps[0]), slot);
    allSteps[1] = std::make_unique<HeadersStepRefusingLargeBodies>(&request, std::move(allSteps[1]),
                                                                   slot, core);
  }
};

// The response of one dispatched request. Marks its connection as handling a request, and
// counts it in the server's ResponsesInFlight (unless the drain had begun), from dispatch
// until the response is done with (sent, or abandoned on any path).
struct PendingResponse {
  PendingResponse(ResponseWriter response, const std::shared_ptr<ConnectionSlot>& connection,
                  std::shared_ptr<ServerCore> server)
      : writer(std::move(response)),
        slot(connection),
        core(std::move(server)),
        counted(core->responses.add()) {
    connection->requests_in_progress.fetch_add(1);
  }
  ~PendingResponse() {
    if (const auto connection = slot.lock()) connection->requests_in_progress.fetch_sub(1);
    if (counted) core->responses.remove();
  }
  PendingResponse(const PendingResponse&) = delete;
  PendingResponse& operator=(const PendingResponse&) = delete;

  ResponseWriter writer;
  const std::weak_ptr<ConnectionSlot> slot;  // the connection may close first
  const std::shared_ptr<ServerCore> core;
  // False when dispatched after the drain began (and so refused at once): not counted.
  const bool counted;
};

// The whole answer to a connection above the cap, written straight to its socket.
const std::string& connection_refusal() {
  static const std::string answer = closing_answer(service_unavailable());
  return answer;
}

IncomingRequest copy_request(const Pistache::Http::Request& request, const ServerOptions& options) {
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
  if (const auto signature = request.headers().tryGetRaw(options.churnkey_signature_header)) {
    incoming.churnkey_signature = signature->value();
  }
  for (auto [name, field] : {std::pair{"X-Shopify-Hmac-Sha256", &incoming.shopify_hmac},
                             {"X-Shopify-Topic", &incoming.shopify_topic},
                             {"X-Shopify-Shop-Domain", &incoming.shopify_shop_domain},
                             {"X-Shopify-Webhook-Id", &incoming.shopify_webhook_id},
                             {"X-Shopify-Event-Id", &incoming.shopify_event_id}}) {
    if (const auto header = request.headers().tryGetRaw(name)) *field = header->value();
  }
  const auto forwarded_for = request.headers().tryGetRaw("X-Forwarded-For");
  incoming.client_address = client_address(request.address().host(),
                                           forwarded_for ? forwarded_for->value() : std::string(),
                                           options.trust_forwarded_for);
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

void send_reply(ResponseWriter& writer, const HttpReply& reply, std::string_view request_id) {
  add_header(writer, "X-Request-Id", std::string(request_id));
  if (reply.retry_after_s > 0)
    add_header(writer, "Retry-After", std::to_string(reply.retry_after_s));
  if (!reply.allow.empty()) add_header(writer, "Allow", reply.allow);
  if (reply.replayed) add_header(writer, "Idempotent-Replayed", "true");
  for (const auto& [name, value] : reply.headers) add_header(writer, name, value);
  writer.send(static_cast<Pistache::Http::Code>(reply.status), reply.body,
              Pistache::Http::Mime::MediaType::fromString(reply.content_type));
}

// Records the request metrics, sends, logs one line. Never throws.
// The metrics are recorded before the response is handed to the reactor, so a client that
// scrapes /metrics right after its answer (on any worker of either pool) finds its request.
// After the endpoint is shut down (a drain that ran out of time), a late completion only
// logs: the connections are gone.
void finish_request(ServerCore& core, ResponseWriter& writer, std::string_view method,
                    std::string_view request_id, const HttpReply& reply, const RequestLog& log,
                    Clock::time_point started) {
  const double latency_s = std::chrono::duration<double>(Clock::now() - started).count();
  core.metrics.observe_request(method, log.route_template, reply.status, latency_s);
  try {
    const std::shared_lock endpoint_open(core.endpoint_mutex);
    if (core.endpoint_closed) {
      spdlog::warn("request_id={} status={} not sent: the endpoint is shut down", request_id,
                   reply.status);
    } else {
      send_reply(writer, reply, request_id);
    }
  } catch (const std::exception& error) {
    // The peer went away; there is nobody to answer.
    spdlog::debug("request_id={} response not sent: {}", request_id, error.what());
  }
  log_request(method, log, reply.status, latency_s, request_id);
}

// Handles the request and answers it, or submits its deferred command, whose completion
// answers it (on the committer's lane thread). handle() never throws; submit_deferred()
// only when memory runs out.
void handle_and_answer(const std::shared_ptr<ServerCore>& core,
                       const std::shared_ptr<PendingResponse>& pending,
                       const std::shared_ptr<IncomingRequest>& request, Clock::time_point started) {
  RequestLog log;
  Handled handled = core->service.handle(*request, log);
  if (const auto* reply = std::get_if<HttpReply>(&handled)) {
    finish_request(*core, pending->writer, request->method, request->request_id, *reply, log,
                   started);
    return;
  }
  // The completion keeps what the reply and its log line need, not the request: its body
  // (up to max_body_bytes) is not held while the command waits in the committer.
  core->service.submit_deferred(std::get<DeferredCommand>(std::move(handled)), request->request_id,
                                [core, pending, method = request->method,
                                 request_id = request->request_id, log, started](HttpReply reply) {
                                  finish_request(*core, pending->writer, method, request_id, reply,
                                                 log, started);
                                });
}

class RequestHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(RequestHandler)

  explicit RequestHandler(std::shared_ptr<ServerCore> core) : core_(std::move(core)) {}

  // Runs on the reactor thread of the new connection. Http::Handler::onConnection (private
  // there) only installs the request parser, which Pistache's input path expects on every
  // peer, refused or not; here it is ConnectionParser. The connection is counted and, above
  // the cap, refused.
  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    auto slot = std::make_shared<ConnectionSlot>(core_->connections, peer->fd());
    peer->putData(ParserData, std::make_shared<ConnectionParser>(getMaxRequestSize(), slot, core_));
    peer->putData(kConnectionSlotKey, slot);
    slot->peer = peer;
    if (slot->open_at_acceptance > static_cast<int64_t>(core_->options.connections_max)) {
      refuse(*peer, *slot);
    }
  }

  void onRequest(const Pistache::Http::Request& request, ResponseWriter response) override {
    const Clock::time_point started = Clock::now();
    const std::shared_ptr<ConnectionSlot> slot = connection_slot(response);
    if (!slot) return;
    if (slot->refused) {  // its 503 or 413 is written, the socket shut down for writing
      // The body of a request refused with the early 413 is now read: once that answer is
      // written too, stop reading, so that the reactor reads end-of-stream and closes the
      // connection (not before: closing would drop the answer still queued).
      if (slot->payload_refused) {
        slot->payload_body_read = true;
        if (slot->payload_answer_written) ::shutdown(slot->fd, SHUT_RD);
      }
      return;
    }
    auto pending = std::make_shared<PendingResponse>(std::move(response), slot, core_);
    try {
      admit(copy_request(request, core_->options), pending, started);
    } catch (const std::exception& error) {
      spdlog::error("request not admitted: {}", error.what());
      IncomingRequest unknown;
      finish_request(*core_, pending->writer, unknown.method, unknown.request_id,
                     json_error(500, "internal_error"), RequestLog{}, started);
    }
  }

 private:
  // Writes the 503 without waiting (a fresh socket's send buffer holds it) and shuts the
  // socket down both ways: the reactor then reads end-of-stream and removes the peer
  // through Pistache's own path, so the descriptor is closed exactly once, by Pistache.
  void refuse(const Pistache::Tcp::Peer& peer, ConnectionSlot& slot) const {
    slot.refused = true;
    core_->connections->refused_total.fetch_add(1);
    const std::string& answer = connection_refusal();
    const ssize_t sent = ::send(peer.fd(), answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent != static_cast<ssize_t>(answer.size())) spdlog::debug("connection refusal not sent");
    ::shutdown(peer.fd(), SHUT_RDWR);
  }

  // The slot onConnection gave the connection; null when the peer is already gone.
  static std::shared_ptr<ConnectionSlot> connection_slot(const ResponseWriter& response) {
    try {
      return std::static_pointer_cast<ConnectionSlot>(
          response.peer()->tryGetData(kConnectionSlotKey));
    } catch (const std::exception&) {
      return nullptr;  // nobody to answer
    }
  }

  void admit(IncomingRequest incoming, const std::shared_ptr<PendingResponse>& pending,
             Clock::time_point started) {
    ServerCore& core = *core_;
    if (!pending->counted) {  // dispatched after the drain began
      RequestLog log;
      log.detail = "draining";
      finish_request(core, pending->writer, incoming.method, incoming.request_id,
                     service_unavailable(), log, started);
      return;
    }
    if (incoming.body.size() > core.options.max_body_bytes) {
      RequestLog log;
      log.route_template = match_route(incoming.method, incoming.path).route_template;
      finish_request(core, pending->writer, incoming.method, incoming.request_id,
                     payload_too_large(core.options.max_body_bytes), log, started);
      return;
    }
    // The route picks the pool before anything is queued: a full outbound pool refuses at
    // once, without authentication, a database read or a reservation.
    const RouteMatch route = match_route(incoming.method, incoming.path);
    auto shared_request = std::make_shared<IncomingRequest>(std::move(incoming));
    if (LedgerService::handles_without_blocking(route, *shared_request)) {
      // Validated here and handed to the committer, answered from its lane: no worker.
      const NonBlockingScope reactor_thread;
      handle_and_answer(core_, pending, shared_request, started);
      return;
    }
    const bool outbound = route.bulkhead == Bulkhead::kOutbound;
    WorkerPool& pool = outbound ? core.outbound_pool : core.pool;
    const bool queued = pool.try_submit([core_ptr = core_, pending, shared_request, started] {
      handle_and_answer(core_ptr, pending, shared_request, started);
    });
    if (!queued) {
      RequestLog log;
      log.route_template = route.route_template;
      log.detail = outbound ? "outbound_queue_full" : "worker_queue_full";
      finish_request(core, pending->writer, shared_request->method, shared_request->request_id,
                     service_unavailable(outbound ? core.options.outbound_retry_after_s : 1), log,
                     started);
    }
  }

  std::shared_ptr<ServerCore> core_;
};

}  // namespace

bool ResponsesInFlight::add() {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  ++count_;
  return true;
}

void ResponsesInFlight::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

void ResponsesInFlight::remove() {
  std::lock_guard lock(mutex_);
  assert(count_ > 0);
  if (--count_ == 0) none_.notify_all();
}

bool ResponsesInFlight::wait_none(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return none_.wait_until(lock, deadline, [this] { return count_ == 0; });
}

HttpServer::HttpServer(ServerOptions options, LedgerService& service, Metrics& metrics)
    : core_(std::make_shared<ServerCore>(options, service, metrics)) {
  assert(options.reactor_threads >= 1);
  assert(options.max_body_bytes >= 1);
  assert(options.connections_max >= 1);
  assert(options.outbound_retry_after_s > 0);
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
  // From here on a request is not counted, and a request not counted is refused: every
  // admitted one is waited for.
  core_->responses.close();
  const Clock::time_point deadline = Clock::now() + grace;
  const bool ledger_drained = core_->pool.drain(grace);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  const bool outbound_drained =
      core_->outbound_pool.drain(std::max(left, std::chrono::milliseconds(0)));
  // Commands submitted by the reactors and workers answer from the committer's lanes.
  const bool answered = core_->responses.wait_none(deadline);
  const bool drained = ledger_drained && outbound_drained && answered;
  // Responses are written by the reactor threads from their queues: let them go out.
  std::this_thread::sleep_for(std::chrono::milliseconds(core_->options.write_flush_ms));
  {
    // Completions still to come (only when draining ran out of time) must not write to the
    // connections shut down next.
    const std::unique_lock closing(core_->endpoint_mutex);
    core_->endpoint_closed = true;
  }
  endpoint_->shutdown();
  endpoint_.reset();
  return drained;
}

void HttpServer::fill_gauges(MetricsGauges& gauges) const {
  gauges.worker_queue_depth = static_cast<int64_t>(core_->pool.queue_depth());
  gauges.workers_busy = static_cast<int64_t>(core_->pool.busy_count());
  gauges.outbound_queue_depth = static_cast<int64_t>(core_->outbound_pool.queue_depth());
  gauges.outbound_workers_busy = static_cast<int64_t>(core_->outbound_pool.busy_count());
  gauges.connections_open = core_->connections->open.load();
  gauges.connections_refused_total = core_->connections->refused_total.load();
}

}  // namespace http
