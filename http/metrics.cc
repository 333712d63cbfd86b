// Histogram bookkeeping and the Prometheus text rendering.
#include "http/metrics.h"

#include <cassert>
#include <cstdio>
#include <initializer_list>

namespace http {
namespace {

std::string format_double(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

template <std::size_t N>
void render_histogram(std::string& out, std::string_view name, const std::string& labels,
                      const std::array<double, N>& bounds, const std::array<uint64_t, N>& counts,
                      uint64_t count, double sum) {
  const std::string separator = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < N; ++i) {
    cumulative += counts[i];
    out += std::string(name) + "_bucket{" + labels + separator + "le=\"" +
           format_double(bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  assert(cumulative <= count);
  out += std::string(name) + "_bucket{" + labels + separator + "le=\"+Inf\"} " +
         std::to_string(count) + "\n";
  const std::string braced = labels.empty() ? "" : "{" + labels + "}";
  out += std::string(name) + "_sum" + braced + " " + format_double(sum) + "\n";
  out += std::string(name) + "_count" + braced + " " + std::to_string(count) + "\n";
}

// One unlabelled sample, rendered with its HELP and TYPE lines.
struct PlainSample {
  std::string_view type;  // "gauge" or "counter"
  std::string_view name;
  std::string_view help;
  int64_t value;
};

void render_samples(std::string& out, std::initializer_list<PlainSample> samples) {
  for (const PlainSample& sample : samples) {
    const std::string name(sample.name);
    out += "# HELP " + name + " " + std::string(sample.help) + "\n";
    out += "# TYPE " + name + " " + std::string(sample.type) + "\n";
    out += name + " " + std::to_string(sample.value) + "\n";
  }
}

}  // namespace

template <std::size_t N>
void Metrics::Histogram<N>::observe(const std::array<double, N>& bounds, double value) {
  ++count;
  sum += value;
  for (std::size_t i = 0; i < N; ++i) {
    if (value <= bounds[i]) {
      ++bucket_counts[i];
      return;
    }
  }
}

void Metrics::observe_request(std::string_view method, std::string_view route, int status,
                              double latency_s) {
  assert(status >= 100 && status <= 599);
  std::lock_guard lock(mutex_);
  requests_[SeriesKey(std::string(method), std::string(route), status)].observe(kLatencyBucketsS,
                                                                                latency_s);
}

void Metrics::observe_batch(std::size_t commands, int64_t latency_us) {
  std::lock_guard lock(mutex_);
  batch_sizes_.observe(kBatchSizeBuckets, static_cast<double>(commands));
  batch_latency_.observe(kLatencyBucketsS, static_cast<double>(latency_us) / 1e6);
}

void Metrics::count_database_error() { database_errors_.fetch_add(1, std::memory_order_relaxed); }

std::string Metrics::render(const MetricsGauges& gauges) const {
  std::string out;
  out.reserve(16 * 1024);
  std::lock_guard lock(mutex_);
  out += "# HELP ledger_http_requests_total HTTP requests by method, route template and status.\n";
  out += "# TYPE ledger_http_requests_total counter\n";
  for (const auto& [key, histogram] : requests_) {
    const auto& [method, route, status] = key;
    out += "ledger_http_requests_total{method=\"" + method + "\",route=\"" + route +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(histogram.count) +
           "\n";
  }
  out += "# HELP ledger_http_request_duration_seconds HTTP request latency.\n";
  out += "# TYPE ledger_http_request_duration_seconds histogram\n";
  for (const auto& [key, histogram] : requests_) {
    const auto& [method, route, status] = key;
    render_histogram(out, "ledger_http_request_duration_seconds",
                     "method=\"" + method + "\",route=\"" + route + "\",status=\"" +
                         std::to_string(status) + "\"",
                     kLatencyBucketsS, histogram.bucket_counts, histogram.count, histogram.sum);
  }
  out += "# HELP ledger_committer_batch_size Commands per committed batch.\n";
  out += "# TYPE ledger_committer_batch_size histogram\n";
  render_histogram(out, "ledger_committer_batch_size", "", kBatchSizeBuckets,
                   batch_sizes_.bucket_counts, batch_sizes_.count, batch_sizes_.sum);
  out += "# HELP ledger_committer_batch_duration_seconds Latency of committed batches.\n";
  out += "# TYPE ledger_committer_batch_duration_seconds histogram\n";
  render_histogram(out, "ledger_committer_batch_duration_seconds", "", kLatencyBucketsS,
                   batch_latency_.bucket_counts, batch_latency_.count, batch_latency_.sum);
  render_samples(
      out,
      {{"counter", "ledger_database_errors_total", "Database errors (reads and committer).",
        static_cast<int64_t>(database_errors_.load(std::memory_order_relaxed))},
       {"gauge", "ledger_open_reservations",
        "Open reservations at the last periodic read (-1: database unreachable).",
        gauges.open_reservations},
       {"counter", "ledger_database_probe_queries_total",
        "Queries of the background database probe behind /health and /metrics.",
        gauges.database_probe_queries_total},
       {"gauge", "ledger_worker_queue_depth", "Requests waiting for a ledger worker.",
        gauges.worker_queue_depth},
       {"gauge", "ledger_workers_busy", "Ledger workers running a request.", gauges.workers_busy},
       {"gauge", "ledger_outbound_queue_depth",
        "Requests (humanize, detect, checkout) waiting for an outbound worker.",
        gauges.outbound_queue_depth},
       {"gauge", "ledger_outbound_workers_busy", "Outbound workers running a request.",
        gauges.outbound_workers_busy},
       {"gauge", "ledger_content_requests_in_flight",
        "Humanize and detect requests holding a per-account slot.",
        gauges.content_requests_in_flight},
       {"gauge", "ledger_committer_queue_depth", "Commands waiting for the committer.",
        gauges.committer_queue_depth},
       {"gauge", "ledger_rate_limit_buckets", "Rate limit buckets in memory.",
        gauges.rate_limit_buckets},
       {"gauge", "ledger_auth_failure_addresses",
        "Client addresses tracked by the failed-authentication limiter.",
        gauges.auth_failure_addresses},
       {"gauge", "ledger_open_connections", "Open client connections.", gauges.connections_open},
       {"counter", "ledger_connections_refused_total",
        "Connections refused (503 and closed) above the connection cap.",
        gauges.connections_refused_total},
       {"counter", "ledger_log_lines_dropped_total",
        "Log lines dropped because the log queue was full (stdout not read fast enough).",
        gauges.log_lines_dropped_total}});
  return out;
}

}  // namespace http
