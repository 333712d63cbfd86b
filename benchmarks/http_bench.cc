// http_bench: the real ledgerd over loopback, on LEDGER_BENCH_DATABASE_URL (scripts/bench.sh
// starts the database and passes the naive baseline measured by ledger_bench in the same run).
// Clients are plain keep-alive HTTP/1.1 sockets (no client library between the socket and
// the measurement), one thread each:
//   1. GET /api/v1/credits (authenticated projection read);
//   2. reserve(1) + capture(1) as fast as the clients go: the peak write rate;
//   3. the same at half that rate, paced (open loop): the latency a service sees when it is
//      not saturated.
// Prints requests/s, latency percentiles and each rate's ratio to the baseline.
//   http_bench [--clients=32] [--seconds=10] [--accounts=64] [--baseline=N] [--ledgerd_flag=...]
// The last line is machine-readable: RESULT reads_per_s=.. writes_per_s=.. p99_half_ms=..
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "crypto/digest.h"
#include "tests/support/ledgerd_process.h"

namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  int clients = 32;
  int seconds = 10;
  int accounts = 64;
  double baseline = 0;  // naive commands/s from ledger_bench, 0: unknown
  std::vector<std::string> ledgerd_flags;
};

// One keep-alive HTTP/1.1 connection to 127.0.0.1.
class Connection {
 public:
  explicit Connection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot connect to ledgerd");
    }
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one request and reads the response; returns the status (0 on a broken
  // connection) and leaves the body in `body`.
  int request(const std::string& method, const std::string& path, const std::string& headers,
              const std::string& payload, std::string& body) {
    std::string message = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                          "Connection: keep-alive\r\n" + headers;
    if (!payload.empty() || method == "POST") {
      message += "Content-Type: application/json\r\nContent-Length: " +
                 std::to_string(payload.size()) + "\r\n";
    }
    message += "\r\n" + payload;
    for (std::size_t sent = 0; sent < message.size();) {
      const ssize_t n = ::send(fd_, message.data() + sent, message.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return 0;
      sent += static_cast<std::size_t>(n);
    }
    return read_response(body);
  }

 private:
  int read_response(std::string& body) {
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return 0;
    }
    const int status = std::atoi(buffer_.c_str() + 9);  // "HTTP/1.1 NNN"
    std::size_t length = 0;
    const std::size_t field = buffer_.find("Content-Length: ");
    if (field != std::string::npos && field < header_end) {
      length = std::strtoull(buffer_.c_str() + field + 16, nullptr, 10);
    }
    while (buffer_.size() < header_end + 4 + length) {
      if (!fill()) return 0;
    }
    body.assign(buffer_, header_end + 4, length);
    buffer_.erase(0, header_end + 4 + length);
    return status;
  }

  bool fill() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

struct RunResult {
  int64_t requests = 0;
  int64_t failures = 0;
  std::vector<double> latencies_ms;
};

std::string reservation_id_of(const std::string& body) {
  const auto start = body.find("\"reservation_id\":\"");
  if (start == std::string::npos) return "";
  const auto from = start + 18;
  return body.substr(from, body.find('"', from) - from);
}

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// One reserve(1) then capture(1); records both requests. `pace` > 0 spaces the starts of
// successive requests by that much (open loop: a late request does not shift the schedule).
void write_client(uint16_t port, const std::string& jwt, Clock::time_point deadline,
                  std::chrono::microseconds pace, RunResult& result) {
  Connection connection(port);
  const std::string auth = "Authorization: Bearer " + jwt + "\r\n";
  std::string body;
  Clock::time_point next = Clock::now();
  const auto timed = [&](const std::string& path, const std::string& payload, int expected) {
    if (pace.count() > 0) {
      std::this_thread::sleep_until(next);
      next += pace;
    }
    // Paced: from the scheduled start, so time spent behind schedule counts as latency.
    const auto started = pace.count() > 0 ? next - pace : Clock::now();
    const int status = connection.request(
        "POST", path, auth + "Idempotency-Key: " + crypto::uuid_v4() + "\r\n", payload, body);
    result.latencies_ms.push_back(ms_between(started, Clock::now()));
    ++result.requests;
    if (status != expected) ++result.failures;
    return status == expected;
  };
  while (Clock::now() < deadline) {
    if (!timed("/api/v1/credits/reservations", R"({"amount":1,"feature":"bench"})", 201)) {
      continue;
    }
    timed("/api/v1/credits/reservations/" + reservation_id_of(body) + "/capture",
          R"({"amount":1})", 200);
  }
}

void read_client(uint16_t port, const std::string& jwt, Clock::time_point deadline,
                 std::chrono::microseconds, RunResult& result) {
  Connection connection(port);
  const std::string auth = "Authorization: Bearer " + jwt + "\r\n";
  std::string body;
  while (Clock::now() < deadline) {
    const auto started = Clock::now();
    const int status = connection.request("GET", "/api/v1/credits", auth, "", body);
    result.latencies_ms.push_back(ms_between(started, Clock::now()));
    ++result.requests;
    if (status != 200) ++result.failures;
  }
}

struct Summary {
  double requests_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t failures = 0;
};

using Client = void (*)(uint16_t, const std::string&, Clock::time_point,
                        std::chrono::microseconds, RunResult&);

Summary run_scenario(uint16_t port, const std::vector<std::string>& jwts,
                     const BenchOptions& options, Client client,
                     std::chrono::microseconds pace = std::chrono::microseconds(0)) {
  std::vector<RunResult> results(static_cast<std::size_t>(options.clients));
  std::vector<std::thread> threads;
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(options.seconds);
  for (int i = 0; i < options.clients; ++i) {
    threads.emplace_back(client, port, jwts[static_cast<std::size_t>(i) % jwts.size()],
                         deadline, pace, std::ref(results[static_cast<std::size_t>(i)]));
  }
  for (auto& thread : threads) thread.join();
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
  RunResult total;
  for (auto& result : results) {
    total.requests += result.requests;
    total.failures += result.failures;
    total.latencies_ms.insert(total.latencies_ms.end(), result.latencies_ms.begin(),
                              result.latencies_ms.end());
  }
  std::sort(total.latencies_ms.begin(), total.latencies_ms.end());
  const auto percentile = [&](double p) {
    if (total.latencies_ms.empty()) return 0.0;
    return total.latencies_ms[static_cast<std::size_t>(
        p * static_cast<double>(total.latencies_ms.size() - 1))];
  };
  return {static_cast<double>(total.requests) / elapsed_s, percentile(0.5), percentile(0.99),
          total.failures};
}

void print(const char* name, const Summary& summary, const BenchOptions& options) {
  std::printf("  %-44s %8.0f requests/s  p50 %6.1f ms  p99 %6.1f ms  failures %lld", name,
              summary.requests_per_s, summary.p50_ms, summary.p99_ms,
              static_cast<long long>(summary.failures));
  if (options.baseline > 0) {
    std::printf("  (%.2fx baseline)", summary.requests_per_s / options.baseline);
  }
  std::printf("\n");
}

std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

BenchOptions parse_options(int argc, char** argv) {
  BenchOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&arg](const char* name) -> const char* {
      const std::size_t length = std::strlen(name);
      return arg.compare(0, length, name) == 0 ? arg.c_str() + length : nullptr;
    };
    if (const char* v = value("--clients=")) options.clients = std::atoi(v);
    if (const char* v = value("--seconds=")) options.seconds = std::atoi(v);
    if (const char* v = value("--accounts=")) options.accounts = std::atoi(v);
    if (const char* v = value("--baseline=")) options.baseline = std::atof(v);
    if (const char* v = value("--ledgerd_flag=")) options.ledgerd_flags.emplace_back(v);
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const BenchOptions options = parse_options(argc, argv);
  const char* database_url = std::getenv("LEDGER_BENCH_DATABASE_URL");
  if (database_url == nullptr) {
    std::fprintf(stderr,
                 "http_bench: LEDGER_BENCH_DATABASE_URL is not set (run scripts/bench.sh)\n");
    return 2;
  }
  if (std::getenv("LEDGER_BUILD_DIR") == nullptr) {
    const std::string self = argv[0];
    const std::string bench_dir = self.substr(0, self.rfind('/'));
    setenv("LEDGER_BUILD_DIR", (bench_dir + "/..").c_str(), 1);
  }
  testing_support::LedgerdOptions ledgerd_options;
  ledgerd_options.database_url = database_url;
  ledgerd_options.extra_flags = {"--rate_limit_per_s=0", "--log_level=warn"};
  for (const std::string& flag : options.ledgerd_flags) ledgerd_options.extra_flags.push_back(flag);
  testing_support::LedgerdProcess ledgerd(ledgerd_options);
  std::string admin_key;
  {
    pg::ConnectionOptions connection_options;
    connection_options.url = database_url;
    pg::Connection connection(connection_options);
    admin_key = auth::create_api_key(connection, "http-bench", {"admin"});
  }
  std::vector<std::string> jwts;
  {
    const std::string run = crypto::hex_encode(crypto::random_bytes(4));
    Connection admin(ledgerd.port());
    std::string body;
    for (int i = 0; i < options.accounts; ++i) {
      const std::string account = "bench-" + run + "-" + std::to_string(i);
      admin.request("POST", "/api/v1/admin/accounts/" + account + "/grants",
                    "Authorization: Bearer " + admin_key + "\r\nIdempotency-Key: bench\r\n",
                    R"({"amount":100000000,"reason":"benchmark"})", body);
      jwts.push_back(auth::issue_dev_token(ledgerd_options.jwt_secret, account, 3600));
    }
  }
  std::printf("http_bench: %d keep-alive clients, %d accounts, %d s per scenario; "
              "load average %s\n",
              options.clients, options.accounts, options.seconds, load_average().c_str());
  const Summary reads = run_scenario(ledgerd.port(), jwts, options, read_client);
  print("GET /api/v1/credits", reads, options);
  const Summary writes = run_scenario(ledgerd.port(), jwts, options, write_client);
  print("reserve+capture, peak", writes, options);
  // Half the peak rate, spread evenly over the clients.
  const auto pace = std::chrono::microseconds(static_cast<int64_t>(
      1e6 * options.clients / std::max(1.0, writes.requests_per_s / 2)));
  const Summary half = run_scenario(ledgerd.port(), jwts, options, write_client, pace);
  print("reserve+capture at half the peak rate", half, options);
  std::printf("load average after: %s\n", load_average().c_str());
  std::printf("RESULT reads_per_s=%.0f writes_per_s=%.0f p99_half_ms=%.1f failures=%lld\n",
              reads.requests_per_s, writes.requests_per_s, half.p99_ms,
              static_cast<long long>(reads.failures + writes.failures + half.failures));
  return ledgerd.stop(SIGTERM, std::chrono::seconds(20)) == 0 ? 0 : 1;
}
