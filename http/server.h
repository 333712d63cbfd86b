// The Pistache side of ledgerd: the endpoint (threads, size limits, timeouts), the cap on
// open connections, the handler that copies each request off the reactor thread into the
// bounded worker pool of its bulkhead (ledger routes, or routes that call out: humanize,
// detect, checkout), the response writing, the per-request log line and request metrics,
// and graceful draining.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "http/metrics.h"
#include "http/service.h"
#include "http/worker_pool.h"

namespace Pistache::Http {
class Endpoint;
}

namespace http {

struct ServerOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 8000;
  int reactor_threads = 2;
  std::size_t workers = 32;  // Bulkhead::kLedger
  std::size_t worker_queue_max = 1024;
  std::size_t outbound_workers = 16;  // Bulkhead::kOutbound
  std::size_t outbound_queue_max = 64;
  int64_t outbound_retry_after_s = 5;  // of the 503 when the outbound queue is full
  // Open connections above this are answered 503 and closed at once (Pistache has no
  // such limit of its own).
  std::size_t connections_max = 1024;
  bool trust_forwarded_for = false;  // see http/client_address.h
  std::string churnkey_signature_header = "X-Churnkey-Signature";
  std::size_t max_body_bytes = 256 * 1024;
  int64_t header_timeout_ms = 5'000;
  int64_t body_timeout_ms = 15'000;
  int64_t keepalive_timeout_ms = 15'000;
  int64_t write_flush_ms = 200;  // after draining: time for queued responses to reach sockets
};

// Open connections, counted from acceptance until Pistache destroys the connection's peer.
// Shared with every peer (a peer may outlive the server core during shutdown).
struct ConnectionCounts {
  std::atomic<int64_t> open{0};
  std::atomic<uint64_t> refused_total{0};  // refused for being above connections_max
};

// Requests dispatched and not yet answered: counted from onRequest until the response is
// done with (sent or abandoned) on whichever thread answers: a reactor, a worker, or the
// committer's lane thread for a command. Draining waits for it to reach zero.
class ResponsesInFlight {
 public:
  // Counts one more; false, counting nothing, once close() was called: a request dispatched
  // after the drain began is refused at once, and must not keep the drain from seeing none
  // left under steady traffic.
  bool add();
  // Removes one that add() counted.
  void remove();
  // Stops counting (the drain has begun): the requests add() no longer counts are refused.
  void close();
  // True when none are in flight by `deadline`.
  bool wait_none(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mutex_;
  std::condition_variable none_;
  int64_t count_ = 0;
  bool closed_ = false;
};

// Shared by every clone of the Pistache handler (one per reactor thread).
struct ServerCore {
  ServerCore(const ServerOptions& options, LedgerService& service, Metrics& metrics)
      : options(options),
        service(service),
        metrics(metrics),
        pool(options.workers, options.worker_queue_max),
        outbound_pool(options.outbound_workers, options.outbound_queue_max) {}

  const ServerOptions options;
  LedgerService& service;
  Metrics& metrics;
  WorkerPool pool;           // Bulkhead::kLedger
  WorkerPool outbound_pool;  // Bulkhead::kOutbound
  const std::shared_ptr<ConnectionCounts> connections = std::make_shared<ConnectionCounts>();
  ResponsesInFlight responses;
  // Set under the unique lock just before the endpoint shuts down; responses are sent under
  // the shared lock only while it is false.
  std::shared_mutex endpoint_mutex;
  bool endpoint_closed = false;
};

class HttpServer {
 public:
  // `service` and `metrics` must outlive the server.
  HttpServer(ServerOptions options, LedgerService& service, Metrics& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on the reactor threads; returns at once. Throws
  // std::runtime_error when the address cannot be bound.
  void start();

  // Graceful stop: new requests get 503, in-flight and queued requests of both pools finish
  // and so do the deferred commands they submitted (at most `grace` in all), their
  // responses are flushed, then the endpoint shuts down.
  // Returns true when every admitted request finished in time. Call once, after start().
  bool drain_and_stop(std::chrono::milliseconds grace);

  // The worker pools' and connections' gauges for /metrics.
  void fill_gauges(MetricsGauges& gauges) const;

 private:
  std::shared_ptr<ServerCore> core_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace http
