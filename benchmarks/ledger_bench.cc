// Write-path throughput: reserve+capture pairs through the batching committer, against the
// same committer limited to one command per transaction (the baseline: no group commit),
// measured in the same run on the same database. Needs LEDGER_BENCH_DATABASE_URL (a
// migrated, durable database; scripts/bench.sh provides one).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "ledger/committer.h"
#include "ledger/migrations.h"

namespace {

using namespace ledger;

std::unique_ptr<Committer> g_batching;
std::unique_ptr<Committer> g_single;
std::atomic<int64_t> g_sequence{0};

// One reserve + capture on an account of this thread (accounts spread over 64 streams).
void reserve_and_capture(Committer& committer, benchmark::State& state, const char* prefix) {
  const std::string account =
      std::string(prefix) + "-" + std::to_string(state.thread_index() % 64);
  for (auto _ : state) {
    try {
      const int64_t n = g_sequence.fetch_add(1);
      const std::string key = std::string(prefix) + std::to_string(n);
      Command reserve{account, key + "r", ReserveCredits{3, "detect", 600, "res_" + key}, {}};
      Outcome reserved = committer.submit(std::move(reserve)).get();
      if (!reserved.ok()) {
        Command grant{account, key + "g", GrantCredits{1'000'000, "bench", "admin"}, {}};
        committer.submit(std::move(grant)).get();
        continue;
      }
      Command capture{account, key + "c", CaptureReservation{"res_" + key, 2}, {}};
      if (!committer.submit(std::move(capture)).get().ok()) state.SkipWithError("capture failed");
    } catch (const std::exception& error) {
      state.SkipWithError(error.what());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 2);
}

void BM_BatchingCommitter(benchmark::State& state) { reserve_and_capture(*g_batching, state, "batch"); }
void BM_OneCommandPerTransaction(benchmark::State& state) {
  reserve_and_capture(*g_single, state, "single");
}

BENCHMARK(BM_OneCommandPerTransaction)->Threads(1)->Threads(32)->UseRealTime()->MinTime(3.0);
BENCHMARK(BM_BatchingCommitter)->Threads(1)->Threads(32)->UseRealTime()->MinTime(3.0);

}  // namespace

int main(int argc, char** argv) {
  const char* url = std::getenv("LEDGER_BENCH_DATABASE_URL");
  if (url == nullptr) {
    std::cerr << "set LEDGER_BENCH_DATABASE_URL (scripts/bench.sh does)\n";
    return 2;
  }
  {
    pqxx::connection connection(url);
    migrate(connection);
  }
  const auto plans = PlanCatalog::load(std::string(LEDGER_SOURCE_DIR) + "/config/plans.json");
  CommitterOptions options;
  options.database_url = url;
  options.sweep_interval_ms = 0;
  g_batching = Committer::start(options, std::get<PlanCatalog>(plans));
  options.batch_max = 1;
  g_single = Committer::start(options, std::get<PlanCatalog>(plans));
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  g_batching->shutdown();
  g_single->shutdown();
  return 0;
}
