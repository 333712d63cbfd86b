// A 503 means nothing was done, on the real binary: a command the committer could not decide
// by --commit_timeout_ms is dropped unwritten (it never commits later), and a command decided
// in time is awaited however slow its commit, then answered with its outcome. And one
// account flooding hostile requests changes nothing for another account.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::http_post;
using Clock = std::chrono::steady_clock;

class CommitDeadlineTest : public LedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--commit_timeout_ms=200"};
  }
};

// Another session holds the account's advisory lock (as another ledgerd's batch would): the
// lanes defer the account's commands until their deadline, then drop them.
TEST_F(CommitDeadlineTest, A503IsNeverFollowedByALateCommit) {
  const std::string alice = token("alice");
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 200);
  auto holder = database_->connect();
  auto lock = std::make_unique<pqxx::work>(*holder);
  lock->exec("SELECT pg_advisory_xact_lock(hashtextextended('alice', 0))");
  for (int i = 0; i < 3; ++i) {
    const TestResponse late = reserve(alice, 10);
    EXPECT_EQ(late.status, 503) << late.body;
    EXPECT_EQ(error_code(late), "service_unavailable");
  }
  lock.reset();  // the lock is gone: a late commit would land now
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(balance_row("alice")->credits_reserved, 0);
  EXPECT_EQ(event_count("alice"), 2);
  // The same Idempotency-Key after a 503 is a new attempt, not a conflict.
  const TestHeaders headers = with_key(bearer(alice), "after-503");
  ASSERT_EQ(http_post(url("/api/v1/credits/reservations"), headers,
                      R"({"amount":10,"feature":"humanize"})")
                .status,
            201);
  expect_consistent("alice");
}

// The append is held back by a table lock after the command was decided in time: the
// handler waits past --commit_timeout_ms for the commit and answers 201, never 503.
TEST_F(CommitDeadlineTest, ADecidedCommandIsAwaitedPastTheTimeout) {
  const std::string bob = token("bob");
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(bob)).status, 200);
  auto holder = database_->connect();
  auto lock = std::make_unique<pqxx::work>(*holder);
  lock->exec("LOCK TABLE ledger_events IN EXCLUSIVE MODE");
  const auto started = Clock::now();
  auto pending = std::async(std::launch::async, [&] { return reserve(bob, 25); });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "answered while its commit was blocked";
  lock.reset();
  const TestResponse response = pending.get();
  const double waited_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  EXPECT_GE(waited_ms, 700.0);
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(balance_row("bob")->credits_reserved, 25);
  expect_consistent("bob");
}

class HostileNeighbourTest : public LedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override { return {"--rate_limit_per_s=0"}; }
};

// One account floods requests that PostgreSQL could not store (lone surrogates, NUL) and
// malformed ones; another account's reservations all succeed meanwhile, none slowed to the
// scale of a failed batch, and the attacker's account is untouched.
TEST_F(HostileNeighbourTest, AFloodOfPoisonFromOneAccountNeverTouchesAnother) {
  const std::string attacker = token("mallory");
  const std::string victim = token("victim");
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(attacker)).status, 200);
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(victim)).status, 200);
  const std::vector<std::string> poisons = {
      R"({"amount":1,"feature":"\udc00"})", R"({"amount":1,"feature":"\ud800x"})",
      R"({"amount":1,"feature":"a\u0000b"})", R"({"amount":1,"feature":"\udfff\udbff"})",
      R"({"amount":1,"feature":"x","\udc00":1})"};
  std::atomic<bool> flooding{true};
  std::atomic<int> non_400{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 4; ++t) {
    flood.emplace_back([&, t] {
      for (int i = 0; flooding.load(); ++i) {
        const TestResponse response =
            http_post(url("/api/v1/credits/reservations"), with_key(bearer(attacker), fresh_key()),
                      poisons[static_cast<std::size_t>(i + t) % poisons.size()]);
        if (response.status != 400) non_400.fetch_add(1);
      }
    });
  }
  double slowest_ms = 0;
  for (int i = 0; i < 60; ++i) {
    const auto started = Clock::now();
    const TestResponse response = reserve(victim, 1);
    slowest_ms = std::max(
        slowest_ms, std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    EXPECT_EQ(response.status, 201) << response.body;
  }
  flooding.store(false);
  for (auto& thread : flood) thread.join();
  EXPECT_EQ(non_400.load(), 0);
  // A poison command reaching SQL would fail the victim's batch with it (a 503 above); this
  // bound catches a stall of the victim instead. The margin is for the flood's four threads
  // sharing two cores with the parallel test run (1.5 s seen on a loaded machine).
  EXPECT_LT(slowest_ms, 3'000.0);
  EXPECT_EQ(balance_row("victim")->credits_reserved, 60);
  EXPECT_EQ(event_count("mallory"), 2);
  expect_consistent("victim");
  expect_consistent("mallory");
}

}  // namespace
}  // namespace http_tests
