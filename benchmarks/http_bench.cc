// http_bench: reserve+capture throughput of the real ledgerd over loopback. Starts ledgerd
// (build/http/ledgerd, next to this binary's directory) on LEDGER_BENCH_DATABASE_URL, grants
// credits through the admin API, then runs N keep-alive clients doing reserve(1) followed by
// capture(1) for a fixed time, on one hot account and on many accounts, after a same-run
// baseline of authenticated reads (GET /credits). Prints requests/s and latency percentiles. scripts/bench.sh runs it after the ledger benchmarks.
//   http_bench [--clients=32] [--seconds=10] [--accounts=64]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/digest.h"
#include "http/api_keys.h"
#include "http/jwt.h"
#include "tests/support/http_test_client.h"
#include "tests/support/ledgerd_process.h"

namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  int clients = 32;
  int seconds = 10;
  int accounts = 64;
};

struct RunResult {
  int64_t requests = 0;
  int64_t failures = 0;
  std::vector<double> latencies_ms;  // one per request
};

int flag_value(const char* arg, const char* name, int fallback) {
  const std::size_t length = std::strlen(name);
  return std::strncmp(arg, name, length) == 0 ? std::atoi(arg + length) : fallback;
}

std::string reservation_id_of(const std::string& body) {
  const auto start = body.find("\"reservation_id\":\"");
  if (start == std::string::npos) return "";
  const auto from = start + 18;
  return body.substr(from, body.find('"', from) - from);
}

// The baseline client: authenticated GET /api/v1/credits (JWT check, one projection read,
// no ledger write), the ceiling of the same server, clients and connections.
void run_read_client(const std::string& base_url, const std::string& jwt,
                     Clock::time_point deadline, RunResult& result) {
  const testing_support::TestHeaders auth = {{"Authorization", "Bearer " + jwt}};
  while (Clock::now() < deadline) {
    const auto started = Clock::now();
    const auto read = testing_support::http_get(base_url + "/api/v1/credits", auth);
    result.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    ++result.requests;
    if (read.status != 200) ++result.failures;
  }
}

// One client: reserve 1, capture 1, until the deadline.
void run_client(const std::string& base_url, const std::string& jwt, Clock::time_point deadline,
                RunResult& result) {
  const testing_support::TestHeaders auth = {{"Authorization", "Bearer " + jwt}};
  while (Clock::now() < deadline) {
    auto headers = auth;
    headers.emplace_back("Idempotency-Key", crypto::uuid_v4());
    auto started = Clock::now();
    const auto reserved = testing_support::http_post(base_url + "/api/v1/credits/reservations",
                                                     headers, R"({"amount":1,"feature":"bench"})");
    result.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    ++result.requests;
    if (reserved.status != 201) {
      ++result.failures;
      continue;
    }
    headers.back().second = crypto::uuid_v4();
    started = Clock::now();
    const auto captured = testing_support::http_post(
        base_url + "/api/v1/credits/reservations/" + reservation_id_of(reserved.body) + "/capture",
        headers, R"({"amount":1})");
    result.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    ++result.requests;
    if (captured.status != 200) ++result.failures;
  }
}

using ClientFunction = void (*)(const std::string&, const std::string&, Clock::time_point,
                               RunResult&);

void run_scenario(const char* name, const testing_support::LedgerdProcess& ledgerd,
                  const std::vector<std::string>& jwts, const BenchOptions& options,
                  ClientFunction client = run_client) {
  std::vector<RunResult> results(static_cast<std::size_t>(options.clients));
  std::vector<std::thread> threads;
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(options.seconds);
  for (int i = 0; i < options.clients; ++i) {
    threads.emplace_back(client, ledgerd.base_url(),
                         jwts[static_cast<std::size_t>(i) % jwts.size()], deadline,
                         std::ref(results[static_cast<std::size_t>(i)]));
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
  std::printf(
      "%-34s clients=%d accounts=%zu: %8.0f requests/s, p50 %.1f ms, p99 %.1f ms, "
      "failures %lld\n",
      name, options.clients, jwts.size(), static_cast<double>(total.requests) / elapsed_s,
      percentile(0.5), percentile(0.99),
      static_cast<long long>(total.failures));
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions options;
  for (int i = 1; i < argc; ++i) {
    options.clients = flag_value(argv[i], "--clients=", options.clients);
    options.seconds = flag_value(argv[i], "--seconds=", options.seconds);
    options.accounts = flag_value(argv[i], "--accounts=", options.accounts);
  }
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
  ledgerd_options.extra_flags = {"--rate_limit_per_s=0", "--workers=32", "--log_level=warn"};
  testing_support::LedgerdProcess ledgerd(ledgerd_options);
  std::string admin_key;
  {
    pg::Connection connection(pg::ConnectionOptions{database_url});
    admin_key = http::create_api_key(connection, "http-bench", {"admin"});
  }
  const auto make_accounts = [&](const std::string& prefix, int count) {
    std::vector<std::string> jwts;
    const std::string run = crypto::hex_encode(crypto::random_bytes(4));
    for (int i = 0; i < count; ++i) {
      const std::string account = prefix + "-" + run + "-" + std::to_string(i);
      testing_support::http_post(
          ledgerd.base_url() + "/api/v1/admin/accounts/" + account + "/grants",
          {{"Authorization", "Bearer " + admin_key}, {"Idempotency-Key", "bench"}},
          R"({"amount":100000000,"reason":"benchmark"})");
      jwts.push_back(http::issue_dev_token(ledgerd_options.jwt_secret, account, 3600));
    }
    return jwts;
  };
  const auto spread = make_accounts("spread", options.accounts);
  run_scenario("baseline: GET /credits (no write)", ledgerd, spread, options, run_read_client);
  run_scenario("reserve+capture, one account", ledgerd, make_accounts("hot", 1), options);
  run_scenario("reserve+capture, 64 accounts", ledgerd, spread, options);
  return ledgerd.stop(SIGTERM, std::chrono::seconds(20)) == 0 ? 0 : 1;
}
