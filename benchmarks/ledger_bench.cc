// ledger_bench: write-path throughput of the committer against the honest baseline, in one
// run on one durable database (LEDGER_BENCH_DATABASE_URL; scripts/bench.sh provides one).
//
// Baseline ("naive SQL"): what a competent team deploys without our design: one transaction
// per command on many connections, each with three prepared statements: UPDATE the balance
// row (guarded so it never goes negative), INSERT the event, INSERT the idempotency record.
// Measured: the committer (lanes, two round trips per batch, every projection, hash chain
// and idempotency record) with the same callers, accounts and reserve+capture workload.
//
//   ledger_bench [--threads=32] [--more_threads=128] [--seconds=10] [--accounts=64] [--lanes=2]
//                [--baseline=N]
//   ledger_bench --fill_events=N [--fill_accounts=1024] [--more_threads=128] [--lanes=2]
//
// The second form measures nothing: it writes until the log holds N events (fill_log).
//
// Both run at `threads` and `more_threads` callers; the baseline is the naive design's better
// figure; --baseline=N skips it and takes N (to compare two committer builds, not for
// RESULTS.md). The last line is machine-readable for scripts/bench.sh:
//   RESULT naive_commands_per_s=N committer_commands_per_s=M committer_more_callers_per_s=K
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/digest.h"
#include "ledger/committer.h"
#include "ledger/migrations.h"

namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  int threads = 32;        // callers of the headline comparison
  int more_threads = 128;  // and of a busier service
  int seconds = 10;
  int accounts = 64;
  int lanes = 2;
  int baseline = 0;  // > 0: the naive figure is given, not measured (committer A/B runs)
  int fill_events = 0;  // > 0: only fill the log to this many events (fill_log)
  int fill_accounts = 1024;
};

int flag_value(const char* arg, const char* name, int fallback) {
  const std::size_t length = std::strlen(name);
  return std::strncmp(arg, name, length) == 0 ? std::atoi(arg + length) : fallback;
}

std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// CPU seconds (user + system) a process has used so far, from /proc (PostgreSQL runs on this
// machine in scripts/bench.sh): database CPU per command does not depend on the machine's
// other load the way commands per second do.
double process_cpu_seconds(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14 || index == 15) ticks += std::stod(field);
    if (index == 15) break;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds this process has used (every thread).
double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of every other backend connected to the database now.
double backends_cpu_seconds(const std::string& url) {
  pqxx::connection connection(url);
  pqxx::nontransaction work(connection);
  double total = 0;
  for (const pqxx::row& row : work.exec("SELECT pid FROM pg_stat_activity"
                                         " WHERE datname = current_database()"
                                         " AND pid <> pg_backend_pid()")) {
    total += process_cpu_seconds(row[0].as<int>());
  }
  return total;
}

// Runs `body(thread_index, deadline)` on `threads` threads for `seconds`; each call returns
// the commands it completed. Returns commands per second; `total` gets the count.
template <typename Body>
double run_threads(int threads, int seconds, Body body, int64_t& total) {
  std::atomic<int64_t> commands{0};
  std::vector<std::thread> workers;
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(seconds);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] { commands.fetch_add(body(t, deadline)); });
  }
  for (auto& worker : workers) worker.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  total = commands.load();
  return static_cast<double>(total) / elapsed;
}

// --- the baseline ---------------------------------------------------------------------

void create_naive_tables(const std::string& url, int accounts) {
  pqxx::connection connection(url);
  pqxx::work work(connection);
  work.exec0(
      "DROP TABLE IF EXISTS naive_events, naive_idempotency, naive_balances;"
      "CREATE TABLE naive_balances (account_id text PRIMARY KEY,"
      " available bigint NOT NULL CHECK (available >= 0),"
      " reserved bigint NOT NULL CHECK (reserved >= 0), version bigint NOT NULL);"
      "CREATE TABLE naive_events (account_id text NOT NULL, version bigint NOT NULL,"
      " event_id uuid NOT NULL, type text NOT NULL, payload json NOT NULL,"
      " recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (account_id, version));"
      "CREATE TABLE naive_idempotency (account_id text NOT NULL, key text NOT NULL,"
      " outcome json NOT NULL, PRIMARY KEY (account_id, key));");
  work.exec_params0(
      "INSERT INTO naive_balances SELECT 'naive-' || i, 1000000000000, 0, 0"
      " FROM generate_series(0, $1 - 1) i",
      accounts);
  work.commit();
}

// One thread of the baseline: its own connection, prepared statements, one transaction per
// command (reserve 3, then capture 2 of it), until the deadline.
int64_t naive_client(const std::string& url, const std::string& account, int thread,
                     Clock::time_point deadline, std::atomic<double>& database_cpu_s) {
  pqxx::connection connection(url);
  const double cpu_before = process_cpu_seconds(connection.backendpid());
  connection.prepare("move",
                     "UPDATE naive_balances SET available = available - $2::bigint + $3::bigint,"
                     " reserved = reserved + $2::bigint - $3::bigint - $4::bigint,"
                     " version = version + 1"
                     " WHERE account_id = $1 AND available >= $2::bigint - $3::bigint"
                     " RETURNING version");
  connection.prepare("event",
                     "INSERT INTO naive_events (account_id, version, event_id, type, payload)"
                     " VALUES ($1, $2, $3::uuid, $4, $5::json)");
  connection.prepare("idempotency",
                     "INSERT INTO naive_idempotency (account_id, key, outcome)"
                     " VALUES ($1, $2, $3::json)");
  int64_t done = 0;
  for (int64_t i = 0; Clock::now() < deadline; ++i) {
    const std::string key = "t" + std::to_string(thread) + "-" + std::to_string(i);
    // reserve 3: available -3, reserved +3; capture 2: reserved -3, 1 back to available.
    for (const bool capture : {false, true}) {
      pqxx::work work(connection);
      const pqxx::result moved = capture ? work.exec_prepared("move", account, 0, 1, 2)
                                         : work.exec_prepared("move", account, 3, 0, 0);
      const int64_t version = moved[0][0].as<int64_t>();
      work.exec_prepared0("event", account, version, crypto::uuid_v4(),
                          capture ? "ReservationCaptured" : "CreditsReserved",
                          R"({"reservation_id":"res_)" + key + R"(","amount":3})");
      work.exec_prepared0("idempotency", account, key + (capture ? "c" : "r"),
                          R"({"result":"ok"})");
      work.commit();
      ++done;
    }
  }
  const double used = process_cpu_seconds(connection.backendpid()) - cpu_before;
  for (double seen = database_cpu_s.load();
       !database_cpu_s.compare_exchange_weak(seen, seen + used);) {
  }
  return done;
}

// --- the committer --------------------------------------------------------------------

// Reserve+capture pairs while `more()` says so, pair i on account_of(i); returns the
// commands done.
template <typename AccountOf, typename More>
int64_t committer_client(ledger::Committer& committer, AccountOf account_of, int thread,
                         More more) {
  int64_t done = 0;
  for (int64_t i = 0; more(); ++i) {
    const std::string& account = account_of(i);
    const std::string key = "t" + std::to_string(thread) + "-" + std::to_string(i);
    const std::string reservation = "res_" + key;
    ledger::Command reserve{account, key + "r",
                            ledger::ReserveCredits{3, "detect", 600, reservation}, {}};
    if (!committer.submit(std::move(reserve)).get().ok()) std::abort();
    ledger::Command capture{account, key + "c", ledger::CaptureReservation{reservation, 2}, {}};
    if (!committer.submit(std::move(capture)).get().ok()) std::abort();
    done += 2;
  }
  return done;
}

// One measured run of the baseline at `callers`.
double measure_naive(const std::string& url, const BenchOptions& options, int callers) {
  create_naive_tables(url, options.accounts);
  std::atomic<double> cpu_s{0};
  int64_t commands = 0;
  const double rate = run_threads(
      callers, options.seconds,
      [&](int t, auto deadline) {
        return naive_client(url, "naive-" + std::to_string(t % options.accounts), t, deadline,
                            cpu_s);
      },
      commands);
  char label[96];
  std::snprintf(label, sizeof label, "naive SQL, %d connections (1 per caller)", callers);
  std::printf("  %-44s %9.0f commands/s                database CPU %4.0f us/command\n", label,
              rate, 1e6 * cpu_s.load() / static_cast<double>(commands));
  return rate;
}

// A committer on `url` with the options' lanes and no sweeper.
std::unique_ptr<ledger::Committer> start_committer(const std::string& url,
                                                   const BenchOptions& options) {
  const auto plans =
      ledger::PlanCatalog::load(std::string(LEDGER_SOURCE_DIR) + "/config/plans.json");
  ledger::CommitterOptions committer_options;
  committer_options.database_url = url;
  committer_options.lanes = static_cast<std::size_t>(options.lanes);
  committer_options.sweep_interval_ms = 0;
  return ledger::Committer::start(committer_options, std::get<ledger::PlanCatalog>(plans));
}

// Opens `count` accounts named `prefix` + 0, 1, ... with a grant that every run can spend
// from; returns their names.
std::vector<std::string> open_accounts(ledger::Committer& committer, const std::string& prefix,
                                       int count) {
  std::vector<std::string> accounts;
  for (int a = 0; a < count; ++a) {
    accounts.push_back(prefix + std::to_string(a));
    committer
        .submit(
            {accounts.back(), "grant", ledger::GrantCredits{1'000'000'000, "bench", "admin"}, {}})
        .get();
  }
  return accounts;
}

// One measured run of the committer at `callers` (a committer of its own, warmed up).
double measure_committer(const std::string& url, const BenchOptions& options, int callers,
                         double baseline) {
  auto committer = start_committer(url, options);
  const std::string run = crypto::hex_encode(crypto::random_bytes(4));
  // Accounts open on first use: warm them so the measured run is the steady state.
  open_accounts(*committer, "bench-" + run + "-", options.accounts);
  const ledger::CommitterStats before = committer->stats();
  const double database_cpu_before = backends_cpu_seconds(url);
  const double own_cpu_before = own_cpu_seconds();
  int64_t commands = 0;
  const double rate = run_threads(
      callers, options.seconds,
      [&](int t, auto deadline) {
        const std::string account = "bench-" + run + "-" + std::to_string(t % options.accounts);
        return committer_client(
            *committer, [&account](int64_t) -> const std::string& { return account; }, t,
            [deadline] { return Clock::now() < deadline; });
      },
      commands);
  const double database_cpu_s = backends_cpu_seconds(url) - database_cpu_before;
  const double own_cpu_s = own_cpu_seconds() - own_cpu_before;
  const ledger::CommitterStats stats = committer->stats();
  committer->shutdown();
  char label[96];
  std::snprintf(label, sizeof label, "committer, %d lanes, %d callers", options.lanes, callers);
  std::printf("  %-44s %9.0f commands/s  %5.2fx baseline  database CPU %4.0f us/command,"
              " committer and callers %3.0f us/command, %.1f commands per batch\n",
              label, rate, rate / baseline,
              1e6 * database_cpu_s / static_cast<double>(commands),
              1e6 * own_cpu_s / static_cast<double>(commands),
              static_cast<double>(stats.commands_decided - before.commands_decided) /
                  static_cast<double>(
                      std::max<int64_t>(1, stats.batches_committed - before.batches_committed)));
  return rate;
}

// --fill_events=N: reserve+capture pairs through a committer (`more_threads` callers on
// `fill_accounts` fresh accounts) until the log holds at least N events; measures nothing.
// scripts/bench.sh's scan benchmark runs on the log this leaves: issue 12 sets its targets
// on a log of at least a million events, and the write runs leave about 300,000 at 10 s.
void fill_log(const std::string& url, const BenchOptions& options) {
  const auto events_now = [&url] {
    pqxx::connection connection(url);
    pqxx::nontransaction work(connection);
    return work.exec1("SELECT count(*) FROM ledger_events")[0].as<int64_t>();
  };
  const int64_t before = events_now();
  if (before >= options.fill_events) {
    std::printf("  the log already holds %lld events\n", static_cast<long long>(before));
    return;
  }
  auto committer = start_committer(url, options);
  const std::vector<std::string> accounts =
      open_accounts(*committer, "fill-" + crypto::hex_encode(crypto::random_bytes(4)) + "-",
                    options.fill_accounts);
  // Each pair is two events (the grants above add more); a caller takes a pair while any is
  // left. Caller t's pair i goes to account t + i * callers: every account gets about as many
  // pairs, written at once with the others', as a service's accounts are.
  std::atomic<int64_t> pairs_left{(options.fill_events - before + 1) / 2};
  std::atomic<int64_t> written{0};
  std::vector<std::thread> callers;
  const auto count = static_cast<int64_t>(accounts.size());
  for (int t = 0; t < options.more_threads; ++t) {
    callers.emplace_back([&, t] {
      written.fetch_add(committer_client(
          *committer,
          [&, t](int64_t i) -> const std::string& {
            return accounts[static_cast<std::size_t>((t + i * options.more_threads) % count)];
          },
          t, [&pairs_left] { return pairs_left.fetch_sub(1) > 0; }));
    });
  }
  const bool terminal = isatty(STDERR_FILENO) != 0;
  std::atomic<bool> done{false};
  std::thread progress([&] {
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      if (terminal) {
        std::fprintf(stderr, "\r  filling the log: about %lld of %lld events",
                     static_cast<long long>(before + written.load()),
                     static_cast<long long>(options.fill_events));
      }
    }
  });
  for (auto& caller : callers) caller.join();
  done = true;
  progress.join();
  committer->shutdown();
  if (terminal) std::fprintf(stderr, "\n");
  std::printf("  filled the log from %lld to %lld events (%d new accounts)\n",
              static_cast<long long>(before), static_cast<long long>(events_now()),
              options.fill_accounts);
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions options;
  for (int i = 1; i < argc; ++i) {
    options.threads = flag_value(argv[i], "--threads=", options.threads);
    options.more_threads = flag_value(argv[i], "--more_threads=", options.more_threads);
    options.seconds = flag_value(argv[i], "--seconds=", options.seconds);
    options.accounts = flag_value(argv[i], "--accounts=", options.accounts);
    options.lanes = flag_value(argv[i], "--lanes=", options.lanes);
    options.baseline = flag_value(argv[i], "--baseline=", options.baseline);
    options.fill_events = flag_value(argv[i], "--fill_events=", options.fill_events);
    options.fill_accounts = flag_value(argv[i], "--fill_accounts=", options.fill_accounts);
  }
  const char* url = std::getenv("LEDGER_BENCH_DATABASE_URL");
  if (url == nullptr) {
    std::fprintf(stderr, "set LEDGER_BENCH_DATABASE_URL (scripts/bench.sh does)\n");
    return 2;
  }
  {
    pqxx::connection connection(url);
    ledger::migrate(connection);
  }
  if (options.fill_events > 0) {
    if (options.fill_accounts < 1) return std::fprintf(stderr, "--fill_accounts must be >= 1\n"), 2;
    fill_log(url, options);
    return 0;
  }
  std::printf("ledger_bench: reserve+capture pairs on %d accounts, %d s per run; "
              "load average %s\n",
              options.accounts, options.seconds, load_average().c_str());
  // The baseline is the naive design at its best of the two concurrencies: more connections
  // than cores only adds contention to one transaction per command.
  const double naive = options.baseline > 0
                           ? options.baseline
                           : std::max(measure_naive(url, options, options.threads),
                                      measure_naive(url, options, options.more_threads));
  const double committer = measure_committer(url, options, options.threads, naive);
  const double committer_more = measure_committer(url, options, options.more_threads, naive);
  std::printf("load average after: %s\n", load_average().c_str());
  std::printf("RESULT naive_commands_per_s=%.0f committer_commands_per_s=%.0f"
              " committer_more_callers_per_s=%.0f\n",
              naive, committer, committer_more);
  return 0;
}
