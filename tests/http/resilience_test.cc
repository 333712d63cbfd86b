// ledgerd under pressure: a full worker queue answers 503 at once, the per-account rate
// limit answers 429 with Retry-After, a database outage is 503 (on /health within the
// probe's bounds) and heals by reconnecting, SIGTERM lets in-flight requests finish, slow
// clients meet the header timeout, and a log reader that stops reading stalls nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <future>
#include <optional>
#include <thread>

#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::http_post;
using Clock = std::chrono::steady_clock;

// Holds an ACCESS EXCLUSIVE lock on ledger_accounts so that balance reads block.
class AccountsTableLock {
 public:
  explicit AccountsTableLock(const testing_support::TestDatabase& database)
      : connection_(database.connect()), work_(std::make_unique<pqxx::work>(*connection_)) {
    work_->exec("LOCK TABLE ledger_accounts IN ACCESS EXCLUSIVE MODE");
  }
  void release() { work_.reset(); }

 private:
  std::unique_ptr<pqxx::connection> connection_;
  std::unique_ptr<pqxx::work> work_;
};

// Waits until `count` sessions of the database wait on a lock, running a statement LIKE
// `query_like`.
bool wait_for_lock_waiters(const testing_support::TestDatabase& database, int count,
                           const std::string& query_like = "%") {
  auto connection = database.connect();
  for (int attempt = 0; attempt < 200; ++attempt) {
    pqxx::nontransaction work(*connection);
    const auto waiting =
        work.exec1(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE " +
                work.quote(query_like))[0]
            .as<int>();
    if (waiting >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

class HttpWorkerQueueTest : public LedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--workers=1", "--worker_queue_max=1"};
  }
};

TEST_F(HttpWorkerQueueTest, FullQueueAnswers503AtOnce) {
  const std::string alice = token("alice");
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 200);
  AccountsTableLock lock(*database_);
  auto blocked = std::async(std::launch::async,
                            [&] { return http_get(url("/api/v1/credits"), bearer(alice)); });
  ASSERT_TRUE(wait_for_lock_waiters(*database_, 1));  // the only worker is stuck
  auto queued = std::async(std::launch::async,
                           [&] { return http_get(url("/api/v1/credits"), bearer(alice)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the queue's one slot is taken
  const auto started = Clock::now();
  const TestResponse refused = http_get(url("/api/v1/health"), {});
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(500));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.body, R"({"error":"service_unavailable","retry_after":1})");
  EXPECT_EQ(refused.header("retry-after"), "1");
  lock.release();
  EXPECT_EQ(blocked.get().status, 200);
  EXPECT_EQ(queued.get().status, 200);
  EXPECT_EQ(http_get(url("/api/v1/health"), {}).status, 200);
}

class HttpRateLimitTest : public LedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=1", "--rate_limit_burst=3"};
  }
};

TEST_F(HttpRateLimitTest, TokenBucketPerAccount) {
  const std::string alice = token("alice");
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 200);
  const TestResponse limited = reserve(alice, 1);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body, R"({"error":"rate_limit_exceeded","retry_after":1})");
  EXPECT_EQ(limited.header("retry-after"), "1");
  EXPECT_EQ(http_get(url("/api/v1/credits"), bearer(token("bob"))).status, 200);  // own bucket
  std::this_thread::sleep_for(std::chrono::milliseconds(1'100));
  EXPECT_EQ(reserve(alice, 1).status, 201);
  EXPECT_EQ(balance_row("alice")->credits_reserved, 1);
}

class HttpOutageTest : public LedgerdTest {
 protected:
  void set_connections_allowed(bool allowed) const {
    testing_support::TestDatabase& database = *database_;
    pqxx::connection admin(std::getenv("LEDGER_TEST_PG_URL"));
    pqxx::nontransaction work(admin);
    work.exec0("ALTER DATABASE " + database.name() + " ALLOW_CONNECTIONS " +
               (allowed ? "true" : "false"));
    if (!allowed) {
      work.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " +
                work.quote(database.name()) + " AND pid <> pg_backend_pid()");
    }
  }
};

// GET /api/v1/health until it answers `status`; the time that took, or nullopt past `bound`.
std::optional<std::chrono::milliseconds> time_until_health(const std::string& health_url,
                                                           long status,
                                                           std::chrono::milliseconds bound,
                                                           TestResponse& last) {
  const auto started = Clock::now();
  while (Clock::now() - started < bound) {
    last = http_get(health_url, {});
    if (last.status == status) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

TEST_F(HttpOutageTest, DatabaseOutageIs503AndHeals) {
  const std::string alice = token("alice");
  ASSERT_EQ(reserve(alice, 5).status, 201);
  set_connections_allowed(false);
  // /health answers from the probe, which checks every second (--health_check_interval_ms):
  // the first failed check turns it to 503.
  TestResponse health;
  const auto turned_503 = time_until_health(url("/api/v1/health"), 503,
                                            std::chrono::milliseconds(2'500), health);
  ASSERT_TRUE(turned_503.has_value()) << health.status << " " << health.body;
  std::printf("/health answered 503 %lld ms after the outage began\n",
              static_cast<long long>(turned_503->count()));
  EXPECT_EQ(health.body, R"({"error":"service_unavailable","retry_after":1})");
  const TestResponse refused = reserve(alice, 5);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(error_code(refused), "service_unavailable");
  EXPECT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 503);
  set_connections_allowed(true);
  long reserved_status = 0;
  for (int attempt = 0; attempt < 50 && reserved_status != 201; ++attempt) {
    reserved_status = reserve(alice, 5).status;
    if (reserved_status != 201) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(reserved_status, 201);
  EXPECT_TRUE(time_until_health(url("/api/v1/health"), 200,
                                std::chrono::milliseconds(2'500), health)
                  .has_value());
  const TestResponse metrics = http_get(url("/metrics"), {});
  EXPECT_EQ(metrics.body.find("ledger_database_errors_total 0\n"), std::string::npos);
  expect_consistent("alice");
}

class HttpReconnectTest : public HttpOutageTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--workers=1"};  // one worker: one read connection
  }
};

TEST_F(HttpReconnectTest, AReadWhoseConnectionWasEndedIsAnsweredOnAFreshOne) {
  const std::string alice = token("alice");
  const std::string admin = create_key("ops", {"admin"});
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 200);
  const std::string events = "/api/v1/admin/accounts/alice/events";
  for (int round = 0; round < 3; ++round) {
    // Every session of the database ends (as in a restart of the server); new ones may start.
    set_connections_allowed(false);
    set_connections_allowed(true);
    const TestResponse credits = http_get(url("/api/v1/credits"), bearer(alice));
    EXPECT_EQ(credits.status, 200) << "round " << round << ": " << credits.body;
    set_connections_allowed(false);
    set_connections_allowed(true);
    EXPECT_EQ(http_get(url(events), bearer(admin)).status, 200) << "round " << round;
  }
  // With the server still refusing, a read is 503 after its second try.
  set_connections_allowed(false);
  EXPECT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 503);
  set_connections_allowed(true);
}

class HttpDrainTest : public LedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--workers=2", "--header_timeout_ms=300"};
  }
};

TEST_F(HttpDrainTest, SigtermFinishesInFlightRequestsThenExitsZero) {
  const std::string alice = token("alice");
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 200);
  AccountsTableLock lock(*database_);
  auto in_flight = std::async(std::launch::async,
                              [&] { return http_get(url("/api/v1/credits"), bearer(alice)); });
  ASSERT_TRUE(wait_for_lock_waiters(*database_, 1));
  ledgerd_->signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const TestResponse late = http_get(url("/api/v1/health"), {});
  EXPECT_TRUE(late.status == 503 || late.status == 0) << late.status;  // refused while draining
  EXPECT_TRUE(ledgerd_->running());
  lock.release();
  const TestResponse finished = in_flight.get();
  EXPECT_EQ(finished.status, 200) << finished.error;
  EXPECT_EQ(int_field(parse_json(finished.body), "credits_available"), 300);
  EXPECT_EQ(ledgerd_->wait_for_exit(std::chrono::seconds(10)), 0);
  const std::string log = ledgerd_->log_text();
  EXPECT_NE(log.find("ledgerd stopped (all requests finished)"), std::string::npos) << log;
}

// A write's command waits in the committer, with no worker waiting for it: draining waits
// for its reply too, so the client gets the 201 of what was committed, not a closed
// connection or a 503.
TEST_F(HttpDrainTest, SigtermAnswersAWriteWhoseCommandIsStillInTheCommitter) {
  const std::string alice = token("alice");
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(alice)).status, 200);
  AccountsTableLock lock(*database_);
  auto in_flight = std::async(std::launch::async, [&] { return reserve(alice, 5); });
  // The lane's batch waits on the table, loading the account.
  ASSERT_TRUE(wait_for_lock_waiters(*database_, 1, "%unnest($1::text[]) AS k(account_id)%"));
  ledgerd_->signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(ledgerd_->running());
  lock.release();
  const TestResponse finished = in_flight.get();
  ASSERT_EQ(finished.status, 201) << finished.error << finished.body;
  const auto reply = parse_json(finished.body);
  EXPECT_EQ(int_field(reply, "credits_available"), 295);
  EXPECT_EQ(ledgerd_->wait_for_exit(std::chrono::seconds(10)), 0);
  const std::string log = ledgerd_->log_text();
  EXPECT_NE(log.find("ledgerd stopped (all requests finished)"), std::string::npos) << log;
  int reserved = 0;
  for (const auto& event : stored_events("alice")) {
    if (event.event_type != "CreditsReserved") continue;
    ++reserved;
    EXPECT_EQ(string_field(parse_json(event.payload), "reservation_id"),
              string_field(reply, "reservation_id"));
  }
  EXPECT_EQ(reserved, 1);
}

TEST_F(HttpDrainTest, IncompleteHeadersTimeOut) {
  const auto started = Clock::now();
  const std::string answer = testing_support::raw_http_exchange(
      ledgerd_->port(), "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n", 3'000);
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(2'500));
  EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
  EXPECT_EQ(http_get(url("/api/v1/health"), {}).status, 200);
}

// stdout goes to a pipe nobody reads, full before ledgerd starts: once the log queue (16
// lines here) is full too, the access lines are dropped and counted, and writes go on
// being answered and committed. (With the lines written by the threads that write them, a
// thread that logs blocks for good, and a lane with it: checked with the pipe left empty,
// the 345th reservation hung once the pipe was full.)
class HttpStalledLogTest : public LedgerdTest {};

TEST_F(HttpStalledLogTest, WritesGoOnWhenStdoutIsNotRead) {
  ledgerd_.reset();
  testing_support::LedgerdOptions options;
  options.database_url = ledgerd_database_url();
  options.jwt_secret = secret_;
  options.extra_flags = ledgerd_flags();
  options.extra_flags.push_back("--log_queue_lines=16");
  options.stdout_unread = true;
  ledgerd_ = std::make_unique<testing_support::LedgerdProcess>(options);
  const std::string account = "acct-stalled-log";
  ASSERT_EQ(grant(create_key("admin", {"admin"}), account, 5'000).status, 200);
  const std::string user = token(account);
  const auto granted = balance_row(account);  // the grant and the free plan's allowance
  ASSERT_TRUE(granted.has_value());
  constexpr int kReservations = 200;
  const Clock::time_point started = Clock::now();
  for (int i = 0; i < kReservations; ++i) {
    const TestResponse response = reserve(user, 1);
    ASSERT_EQ(response.status, 201) << "reservation " << i << ": " << response.body;
  }
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(60));
  const TestResponse metrics = http_get(url("/metrics"), {});
  ASSERT_EQ(metrics.status, 200);
  const std::optional<double> dropped =
      testing_support::metric_sample(metrics.body, "ledger_log_lines_dropped_total");
  ASSERT_TRUE(dropped.has_value());
  EXPECT_GT(*dropped, 0.0);
  const auto balance = balance_row(account);
  ASSERT_TRUE(balance.has_value());
  EXPECT_EQ(balance->credits_available, granted->credits_available - kReservations);
  EXPECT_EQ(balance->credits_reserved, kReservations);
  expect_consistent(account);
  // SIGTERM still drains and exits: the last lines are dropped, not waited for.
  EXPECT_EQ(ledgerd_->stop(SIGTERM, std::chrono::milliseconds(20'000)), 0);
}

}  // namespace
}  // namespace http_tests
