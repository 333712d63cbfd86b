// The Pistache side of ledgerd: the endpoint (threads, size limits, timeouts), the handler
// that copies each request off the reactor thread into the bounded worker pool, the
// response writing, the per-request log line and request metrics, and graceful draining.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
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
  std::size_t workers = 16;
  std::size_t worker_queue_max = 1024;
  std::size_t max_body_bytes = 256 * 1024;
  int64_t header_timeout_ms = 5'000;
  int64_t body_timeout_ms = 15'000;
  int64_t keepalive_timeout_ms = 15'000;
  int64_t write_flush_ms = 200;  // after draining: time for queued responses to reach sockets
};

// Shared by every clone of the Pistache handler (one per reactor thread).
struct ServerCore {
  ServerCore(const ServerOptions& options, LedgerService& service, Metrics& metrics)
      : options(options),
        service(service),
        metrics(metrics),
        pool(options.workers, options.worker_queue_max) {}

  const ServerOptions options;
  LedgerService& service;
  Metrics& metrics;
  WorkerPool pool;
  std::atomic<bool> draining{false};
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

  // Graceful stop: new requests get 503, in-flight and queued requests finish (at most
  // `grace`), their responses are flushed, then the endpoint shuts down. Returns true when
  // every admitted request finished in time. Call once, after start().
  bool drain_and_stop(std::chrono::milliseconds grace);

  // The worker pool's gauges for /metrics.
  void fill_gauges(MetricsGauges& gauges) const;

 private:
  std::shared_ptr<ServerCore> core_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace http
