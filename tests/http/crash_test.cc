// Crashes under load, with the committer's lanes busy on accounts of every lane: SIGKILL of
// ledgerd, and an immediate (crash-like) stop of PostgreSQL that is then restarted. Every
// acknowledged reservation is in the log, a request answered 503 left nothing behind (its
// retry with the same key is a first execution, not a replay), and verify is clean.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "audit/verify.h"
#include "ledger/committer.h"
#include "tests/http/ledgerd_fixture.h"
#include "tests/support/pg_cluster.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::http_post;
using Clock = std::chrono::steady_clock;

constexpr int kAccounts = 8;
constexpr int kClients = 16;

struct Outcomes {
  std::mutex mutex;
  std::set<std::string> acknowledged;  // reservation ids answered 201
  std::map<std::string, std::string> refused;  // Idempotency-Key -> account, answered 503
  int unexpected = 0;
};

std::string account_name(int index) { return "crash-" + std::to_string(index); }

class CrashTest : public LedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--auth_failures_max=0", "--workers=16",
            "--committer_lanes=2", "--commit_timeout_ms=2000", "--log_level=warn"};
  }

  void SetUp() override {
    LedgerdTest::SetUp();
    std::set<std::size_t> lanes;
    for (int i = 0; i < kAccounts; ++i) lanes.insert(ledger::lane_of(account_name(i), 2));
    ASSERT_EQ(lanes.size(), 2u) << "the accounts must keep both lanes busy";
  }

  // Opens the accounts with credits for every reservation the load can make.
  void open_accounts() {
    const std::string admin = create_key("ops", {"admin"});
    for (int i = 0; i < kAccounts; ++i) {
      ASSERT_EQ(grant(admin, account_name(i), 1'000'000).status, 200);
    }
  }

  // kClients clients reserve 1 credit in a loop on the accounts until `stop`.
  std::vector<std::thread> start_load(Outcomes& outcomes, std::atomic<bool>& stop) {
    std::vector<std::thread> clients;
    const std::string base_url = ledgerd_->base_url();
    for (int c = 0; c < kClients; ++c) {
      const std::string account = account_name(c % kAccounts);
      const std::string jwt = token(account);
      clients.emplace_back([&, base_url, account, jwt] {
        while (!stop.load()) {
          const std::string key = fresh_key();
          const TestResponse response =
              http_post(base_url + "/api/v1/credits/reservations",
                        {{"Authorization", "Bearer " + jwt}, {"Idempotency-Key", key}},
                        R"({"amount":1,"feature":"crash"})", 5'000);
          std::lock_guard lock(outcomes.mutex);
          if (response.status == 201) {
            outcomes.acknowledged.insert(string_field(parse_json(response.body), "reservation_id"));
          } else if (response.status == 503) {
            outcomes.refused.emplace(key, account);
          } else if (response.status != 0) {
            ++outcomes.unexpected;  // 0: the server was gone (killed) or the call timed out
          }
        }
      });
    }
    return clients;
  }

  // Every acknowledged reservation is in the log; the accounts fold to their projections.
  void expect_acknowledged_in_log(const Outcomes& outcomes) {
    std::set<std::string> logged;
    for (int i = 0; i < kAccounts; ++i) {
      for (const auto& event : stored_events(account_name(i))) {
        if (event.event_type != "CreditsReserved") continue;
        logged.insert(string_field(parse_json(event.payload), "reservation_id"));
      }
    }
    std::size_t missing = 0;
    for (const std::string& id : outcomes.acknowledged) missing += logged.count(id) == 0;
    EXPECT_EQ(missing, 0u) << "of " << outcomes.acknowledged.size() << " acknowledged";
    EXPECT_GT(outcomes.acknowledged.size(), 50u);
    for (int i = 0; i < kAccounts; ++i) expect_consistent(account_name(i));
  }

  // A request answered 503 did nothing: retried with its key, it runs for the first time.
  void expect_refusals_left_nothing(const Outcomes& outcomes) {
    for (const auto& [key, account] : outcomes.refused) {
      const TestResponse retry =
          http_post(url("/api/v1/credits/reservations"), with_key(bearer(token(account)), key),
                    R"({"amount":1,"feature":"crash"})");
      EXPECT_EQ(retry.status, 201) << retry.body;
      EXPECT_EQ(retry.header("idempotent-replayed"), "") << "a 503 had committed: " << key;
    }
  }
};

TEST_F(CrashTest, SigkillOfLedgerdUnderLoadLosesNoAcknowledgedWrite) {
  open_accounts();
  Outcomes outcomes;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients = start_load(outcomes, stop);
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));
  ledgerd_->signal(SIGKILL);
  EXPECT_EQ(ledgerd_->wait_for_exit(std::chrono::seconds(10)), 128 + SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop.store(true);
  for (auto& client : clients) client.join();
  EXPECT_EQ(outcomes.unexpected, 0);
  restart_ledgerd(ledgerd_flags());
  expect_acknowledged_in_log(outcomes);
  expect_refusals_left_nothing(outcomes);
  EXPECT_TRUE(audit::verify_ledger(*connect_ledger_database()).clean);
}

// The same ledgerd on a PostgreSQL of its own, crashed and restarted under load.
class PostgresCrashTest : public CrashTest {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<testing_support::PgCluster>();
    CrashTest::SetUp();
  }
  std::string ledgerd_database_url() override { return cluster_->url(); }
  std::string ledger_database_url() const override { return cluster_->url(); }

  std::unique_ptr<testing_support::PgCluster> cluster_;
};

TEST_F(PostgresCrashTest, AnImmediateStopOfPostgresLosesNoAcknowledgedWrite) {
  open_accounts();
  Outcomes outcomes;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients = start_load(outcomes, stop);
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));
  const std::size_t acknowledged_before = [&] {
    std::lock_guard lock(outcomes.mutex);
    return outcomes.acknowledged.size();
  }();
  cluster_->crash();
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));
  cluster_->start();
  // ledgerd reconnects by itself: the load goes on acknowledging.
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  std::size_t acknowledged_after = 0;
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::lock_guard lock(outcomes.mutex);
    acknowledged_after = outcomes.acknowledged.size();
    if (acknowledged_after > acknowledged_before + 100) break;
  }
  stop.store(true);
  for (auto& client : clients) client.join();
  EXPECT_GT(acknowledged_after, acknowledged_before + 100) << "no recovery after the restart";
  EXPECT_EQ(outcomes.unexpected, 0);
  // The crash was observed: the lanes met database errors (whether they outlasted it and
  // committed late, or answered 503, depends on timing: both are checked below).
  const TestResponse metrics = http_get(url("/metrics"), {});
  EXPECT_EQ(metrics.body.find("ledger_database_errors_total 0\n"), std::string::npos)
      << "the crash was not observed";
  EXPECT_NE(metrics.body.find("ledger_database_errors_total "), std::string::npos);
  expect_acknowledged_in_log(outcomes);
  expect_refusals_left_nothing(outcomes);
  const audit::VerifyReport report = audit::verify_ledger(*connect_ledger_database());
  EXPECT_TRUE(report.clean) << report.problem << " " << report.stream_id;
}

}  // namespace
}  // namespace http_tests
