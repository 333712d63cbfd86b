// Prometheus metrics of ledgerd, rendered in the text exposition format (0.0.4):
// requests and latency per (method, route template, status), committer batch sizes and
// latency, database errors, and gauges sampled at scrape time.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace http {

// Values read at scrape time from the parts that own them.
struct MetricsGauges {
  int64_t open_reservations = -1;  // < 0: unknown (database unreachable); cached, see below
  int64_t worker_queue_depth = 0;  // the ledger bulkhead
  int64_t workers_busy = 0;
  int64_t outbound_queue_depth = 0;  // the outbound bulkhead (humanize, detect, checkout)
  int64_t outbound_workers_busy = 0;
  int64_t committer_queue_depth = 0;
  int64_t rate_limit_buckets = 0;
  int64_t auth_failure_addresses = 0;      // addresses tracked by the failed-auth limiter
  int64_t content_requests_in_flight = 0;  // humanize + detect holding a per-account permit
  int64_t connections_open = 0;
  int64_t connections_refused_total = 0;     // counter: refused above the connection cap
  int64_t database_probe_queries_total = 0;  // counter: every database query of health/metrics
  int64_t log_lines_dropped_total = 0;       // counter: log lines dropped by a full log queue
};

class Metrics {
 public:
  static constexpr std::array<double, 13> kLatencyBucketsS = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  static constexpr std::array<double, 10> kBatchSizeBuckets = {1,  2,  4,   8,   16,
                                                               32, 64, 128, 256, 512};

  // `route` is a route template (bounded set), never a raw path. Thread-safe.
  void observe_request(std::string_view method, std::string_view route, int status,
                       double latency_s);
  // From the committer thread (must not block long: one short critical section).
  void observe_batch(std::size_t commands, int64_t latency_us);
  void count_database_error();

  std::string render(const MetricsGauges& gauges) const;

 private:
  template <std::size_t N>
  struct Histogram {
    std::array<uint64_t, N> bucket_counts{};  // non-cumulative; rendered cumulatively
    uint64_t count = 0;
    double sum = 0;
    void observe(const std::array<double, N>& bounds, double value);
  };
  using SeriesKey = std::tuple<std::string, std::string, int>;  // method, route, status

  mutable std::mutex mutex_;
  std::map<SeriesKey, Histogram<kLatencyBucketsS.size()>> requests_;
  Histogram<kBatchSizeBuckets.size()> batch_sizes_;
  Histogram<kLatencyBucketsS.size()> batch_latency_;
  std::atomic<uint64_t> database_errors_{0};
};

}  // namespace http
