// The committer's lanes against a real PostgreSQL: what a batch costs in round trips (counted
// on the wire by a relay), stable lane assignment, deadlines that drop instead of abandoning,
// an account locked elsewhere that stalls nobody else, batches that gather their callers, poison
// commands refused before SQL, and a constraint violation isolated by bisection.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "audit/verify.h"
#include "ledger/committer.h"
#include "ledger/store.h"
#include "projections/balances.h"
#include "tests/ledger/ledger_test_support.h"
#include "tests/support/round_trip_proxy.h"
#include "tests/support/test_database.h"

namespace {

using namespace ledger;
using testing_support::TestDatabase;
using Clock = std::chrono::steady_clock;

PlanCatalog plans() { return ledger_tests::shipped_plans(); }

Command make(const std::string& account, const std::string& key, CommandBody body) {
  return ledger_tests::make_command(account, key, std::move(body));
}

CommitterOptions options_for(const std::string& url, std::size_t lanes) {
  CommitterOptions options;
  options.database_url = url;
  options.lanes = lanes;
  options.sweep_interval_ms = 0;
  return options;
}

int64_t event_count(const TestDatabase& db, const std::string& account) {
  auto connection = db.connect();
  pqxx::read_transaction work(*connection);
  return work.exec_params1("SELECT count(*) FROM ledger_events WHERE stream_id = $1", account)[0]
      .as<int64_t>();
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// While set, a lane's batch waits before its commit: the commands submitted meanwhile queue
// up and form the lane's next batch.
class CommitHold {
 public:
  std::function<void(int, int)> hook() {
    return [this](int, int) {
      std::unique_lock lock(mutex_);
      released_.wait(lock, [this] { return !held_; });
    };
  }
  void set(bool held) {
    {
      std::lock_guard lock(mutex_);
      held_ = held;
    }
    released_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool held_ = false;
};

// A batch is BEGIN + locks + clock + loads in one round trip, writes + COMMIT in another:
// counted on the wire, between the committer and PostgreSQL.
TEST(CommitterLanes, ABatchCostsTwoRoundTripsOnTheWire) {
  TestDatabase db;
  testing_support::RoundTripProxy proxy(testing_support::url_port(db.url()));
  const PlanCatalog catalog = plans();
  auto committer = Committer::start(
      options_for(testing_support::url_with_port(db.url(), proxy.port()), 1), catalog);
  ASSERT_TRUE(committer->submit(make("warm", "k", OpenAccount{})).get().ok());

  const int64_t wire_before = proxy.round_trips();
  const CommitterStats stats_before = committer->stats();
  ASSERT_TRUE(committer->submit(make("alice", "r", ReserveCredits{40, "detect", 60, "res_a"}))
                  .get()
                  .ok());
  EXPECT_EQ(proxy.round_trips() - wire_before, 2) << "one command, one batch";

  // Many commands on many accounts from many threads: still two round trips per batch.
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string account = "acct-" + std::to_string((t * 20 + i) % 24);
        const std::string key = "g-" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(committer->submit(make(account, key, GrantCredits{1, "r", "admin"})).get().ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const CommitterStats stats = committer->stats();
  const int64_t batches = stats.batches_committed - stats_before.batches_committed;
  EXPECT_EQ(stats.commands_decided - stats_before.commands_decided, 1 + 16 * 20);
  EXPECT_EQ(proxy.round_trips() - wire_before, 2 * batches);
  EXPECT_EQ(stats.round_trips - stats_before.round_trips, 2 * batches);
  EXPECT_LT(batches, 1 + 16 * 20) << "concurrent commands share batches";
  std::printf("%lld commands in %lld batches, %lld round trips on the wire\n",
              static_cast<long long>(1 + 16 * 20), static_cast<long long>(batches),
              static_cast<long long>(proxy.round_trips() - wire_before));
}

TEST(CommitterLanes, AnAccountAlwaysMapsToTheSameLane) {
  // FNV-1a of the id: the same in every process and after a restart.
  EXPECT_EQ(lane_of("alice", 4), lane_of("alice", 4));
  EXPECT_EQ(lane_of("", 4), 14'695'981'039'346'656'037ull % 4);
  std::set<std::size_t> used;
  for (int i = 0; i < 64; ++i) used.insert(lane_of("user-" + std::to_string(i), 4));
  EXPECT_EQ(used.size(), 4u) << "accounts spread over every lane";
  for (int i = 0; i < 64; ++i) EXPECT_EQ(lane_of("user-" + std::to_string(i), 1), 0u);
}

// Another process holds one account's lock (here: the test's own session). That account's
// command is deferred, not waited for, so the lane goes on committing other accounts; once
// its deadline passes it is dropped and nothing of it is written.
TEST(CommitterLanes, ALockedAccountStallsNobodyAndItsCommandIsDroppedAtItsDeadline) {
  TestDatabase db;
  const PlanCatalog catalog = plans();
  auto committer = Committer::start(options_for(db.url(), 1), catalog);
  ASSERT_TRUE(committer->submit(make("slow", "open", OpenAccount{})).get().ok());
  auto holder = db.connect();
  pqxx::work lock(*holder);
  lock.exec("SELECT pg_advisory_xact_lock(hashtextextended('slow', 0))");

  const auto deadline = Clock::now() + std::chrono::milliseconds(300);
  auto slow = committer->submit(make("slow", "g", GrantCredits{5, "x", "admin"}), deadline);
  for (int i = 0; i < 20; ++i) {
    const auto started = Clock::now();
    ASSERT_TRUE(committer->submit(make("fast", "g" + std::to_string(i), GrantCredits{1, "x", "admin"}))
                    .get()
                    .ok());
    EXPECT_LT(ms_since(started), 250.0) << "a command of another account waited for the lock";
  }
  EXPECT_THROW(slow.get(), LedgerDeadlineExceeded);
  EXPECT_GE(ms_since(deadline - std::chrono::milliseconds(300)), 300.0);
  lock.commit();
  EXPECT_EQ(event_count(db, "slow"), 2) << "opened and allowance only: the grant was dropped";
  // The same key later is a new command: nothing of the dropped one was stored.
  const Outcome again = committer->submit(make("slow", "g", GrantCredits{5, "x", "admin"})).get();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again.replayed);
  EXPECT_TRUE(audit::verify_ledger(*db.connect_pg()).clean);
}

// Strings PostgreSQL would refuse never reach a batch: the command is rejected at submit and
// the commands around it commit.
TEST(CommitterLanes, APoisonCommandIsRejectedBeforeSqlAndHarmsNoBatch) {
  TestDatabase db;
  const PlanCatalog catalog = plans();
  auto committer = Committer::start(options_for(db.url(), 2), catalog);
  const std::vector<std::string> poisons = {
      std::string("\xED\xB0\x80"),        // a lone low surrogate, as "\udc00" unescapes
      std::string("a\0b", 3),             // NUL
      std::string("\xC0\xAF"),            // overlong
      std::string(2'000, 'x'),            // longer than any field may be
  };
  std::vector<std::future<Outcome>> healthy;
  for (std::size_t i = 0; i < poisons.size(); ++i) {
    healthy.push_back(committer->submit(
        make("ok-" + std::to_string(i), "k", ReserveCredits{1, "detect", 60, "res_ok"})));
    const Outcome refused = committer
                                ->submit(make("victim", "p" + std::to_string(i),
                                              ReserveCredits{1, poisons[i], 60, "res_p"}))
                                .get();
    EXPECT_EQ(refused.rejection, Rejection::kInvalidCommand) << i;
    healthy.push_back(committer->submit(
        make("ok-" + std::to_string(i), "k2", GrantCredits{1, "fine", "admin"})));
  }
  EXPECT_EQ(committer->submit(make(std::string("bad\xFF"), "k", OpenAccount{})).get().rejection,
            Rejection::kInvalidCommand);
  for (auto& future : healthy) EXPECT_TRUE(future.get().ok());
  EXPECT_EQ(event_count(db, "victim"), 0);
  EXPECT_EQ(committer->stats().commands_decided, static_cast<int64_t>(healthy.size()));
}

// A row that a constraint refuses (a projection made stale behind the ledger's back) fails
// only its account: the batch is bisected by account, not rerun one command at a time.
TEST(CommitterLanes, AConstraintViolationIsIsolatedByBisection) {
  TestDatabase db;
  const PlanCatalog catalog = plans();
  CommitHold hold;
  CommitterOptions options = options_for(db.url(), 1);
  options.before_commit_for_tests = hold.hook();
  auto committer = Committer::start(options, catalog);
  ASSERT_TRUE(committer->submit(make("poisoned", "k0", OpenAccount{})).get().ok());
  {
    // A stale stream_version: the next append for this account collides with an event.
    auto connection = db.connect();
    pqxx::work work(*connection);
    work.exec0("UPDATE ledger_accounts SET stream_version = 1 WHERE account_id = 'poisoned'");
    work.commit();
  }
  hold.set(true);
  auto blocker = committer->submit(make("blocker", "k", OpenAccount{}));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const CommitterStats before = committer->stats();
  auto poisoned = committer->submit(make("poisoned", "k1", GrantCredits{5, "x", "admin"}));
  constexpr int kHealthy = 50;
  std::vector<std::future<Outcome>> healthy;
  for (int i = 0; i < kHealthy; ++i) {
    healthy.push_back(committer->submit(
        make("healthy-" + std::to_string(i), "k", GrantCredits{5, "x", "admin"})));
  }
  hold.set(false);
  EXPECT_TRUE(blocker.get().ok());
  EXPECT_THROW(poisoned.get(), LedgerUnavailable);
  for (auto& future : healthy) EXPECT_TRUE(future.get().ok());
  const CommitterStats after = committer->stats();
  // The blocker's batch, then 51 accounts bisected: the healthy ones commit in at most
  // ceil(log2(51)) + 1 batches, where one command at a time would take 50.
  EXPECT_LE(after.batches_committed - before.batches_committed, 1 + 7);
  EXPECT_EQ(after.commands_decided - before.commands_decided, 1 + kHealthy);
  EXPECT_EQ(event_count(db, "poisoned"), 2);
}

// Callers whose outcomes a batch fulfilled resubmit while the lane takes its next batch: a
// batch smaller than the last waits for the queue to make up the difference, closes as soon
// as it has (not at the end of its window), and waits no longer than batch_gather_us.
TEST(CommitterLanes, ABatchSmallerThanTheLastGathersUpToItsSizeForAtMostItsWindow) {
  TestDatabase db;
  const PlanCatalog catalog = plans();
  CommitHold hold;
  CommitterOptions options = options_for(db.url(), 1);
  options.batch_gather_us = 1'000'000;
  options.before_commit_for_tests = hold.hook();
  auto committer = Committer::start(options, catalog);
  // A batch of 5: they queue while the batch before them is held at its commit.
  hold.set(true);
  auto first = committer->submit(make("gather-0", "open", OpenAccount{}));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<std::future<Outcome>> opened;
  for (int i = 1; i <= 5; ++i) {
    opened.push_back(committer->submit(make("gather-" + std::to_string(i), "open", OpenAccount{})));
  }
  hold.set(false);
  ASSERT_TRUE(first.get().ok());
  for (auto& future : opened) ASSERT_TRUE(future.get().ok());

  // One command, then four more 100 ms later: one batch of 5, closed by the fifth.
  const CommitterStats before = committer->stats();
  const Clock::time_point started = Clock::now();
  auto lone = committer->submit(make("gather-1", "g", GrantCredits{1, "x", "admin"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(lone.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the lone command did not wait for the others";
  std::vector<std::future<Outcome>> rest;
  for (int i = 2; i <= 5; ++i) {
    rest.push_back(
        committer->submit(make("gather-" + std::to_string(i), "g", GrantCredits{1, "x", "admin"})));
  }
  ASSERT_TRUE(lone.get().ok());
  for (auto& future : rest) ASSERT_TRUE(future.get().ok());
  EXPECT_LT(ms_since(started), 900) << "the batch waited out its window although it was full";
  const CommitterStats after = committer->stats();
  EXPECT_EQ(after.batches_committed - before.batches_committed, 1);
  EXPECT_EQ(after.commands_decided - before.commands_decided, 5);

  // Alone, a command waits out the window and no longer.
  const Clock::time_point alone = Clock::now();
  ASSERT_TRUE(committer->submit(make("gather-1", "h", GrantCredits{1, "x", "admin"})).get().ok());
  EXPECT_GE(ms_since(alone), 1000);
  EXPECT_LT(ms_since(alone), 6000);
}

// A statement timeout is transient: the batch is retried, not its commands failed. Here the
// append waits on a table lock longer than the statement timeout, twice, then gets through.
TEST(CommitterLanes, AStatementTimeoutIsRetriedNotFailed) {
  TestDatabase db;
  const PlanCatalog catalog = plans();
  CommitterOptions options = options_for(db.url(), 1);
  options.statement_timeout_ms = 150;
  options.batch_attempts_max = 5;
  auto committer = Committer::start(options, catalog);
  ASSERT_TRUE(committer->submit(make("slowpoke", "open", OpenAccount{})).get().ok());
  auto holder = db.connect();
  auto lock = std::make_unique<pqxx::work>(*holder);
  lock->exec("LOCK TABLE ledger_events IN EXCLUSIVE MODE");
  const CommitterStats before = committer->stats();
  auto pending = committer->submit(make("slowpoke", "g", GrantCredits{5, "x", "admin"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // > 2 timeouts
  lock.reset();
  const Outcome outcome = pending.get();
  ASSERT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome.replayed);
  EXPECT_GT(committer->stats().round_trips - before.round_trips, 2) << "no retry happened";
  EXPECT_EQ(event_count(db, "slowpoke"), 3);
}

// The connection dies while the COMMIT is in flight: the lane learns from the idempotency
// records what landed, answers the first outcome (not flagged as a replay) and writes
// nothing twice.
TEST(CommitterLanes, AnInDoubtCommitIsResolvedFromTheIdempotencyRecords) {
  TestDatabase db;
  const PlanCatalog catalog = plans();
  auto killer = db.connect();
  std::mutex killer_mutex;
  CommitterOptions options = options_for(db.url(), 2);
  std::atomic<int> kills{0};
  options.before_commit_for_tests = [&](int attempt, int pid) {
    if (attempt != 1) return;
    std::lock_guard lock(killer_mutex);
    kills.fetch_add(1);
    pqxx::nontransaction work(*killer);
    work.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  };
  auto committer = Committer::start(options, catalog);
  std::vector<std::future<Outcome>> futures;
  for (int i = 0; i < 12; ++i) {
    futures.push_back(committer->submit(
        make("doubt-" + std::to_string(i % 3), "k" + std::to_string(i),
             ReserveCredits{10, "detect", 60, "res_" + std::to_string(i)})));
  }
  for (auto& future : futures) {
    const Outcome outcome = future.get();
    EXPECT_TRUE(outcome.ok());
    EXPECT_FALSE(outcome.replayed);
  }
  EXPECT_GE(kills.load(), 1);
  auto connection = db.connect();
  pqxx::read_transaction work(*connection);
  EXPECT_EQ(work.exec1("SELECT count(*) FROM ledger_events WHERE event_type = 'CreditsReserved'")[0]
                .as<int64_t>(),
            12);
  work.commit();
  EXPECT_TRUE(audit::verify_ledger(*db.connect_pg()).clean);
}

}  // namespace
