// Bulkheads end to end (real ledgerd, PostgreSQL, a fake humanizer that hangs on marked
// texts): humanize, detect and checkout run in their own bounded pool, so while the model
// holds every outbound worker /api/v1/health and another account's GET /api/v1/credits
// still answer within milliseconds; a full outbound queue is 503 at once without touching
// the ledger; and an account's third concurrent humanize/detect is 429 before anything is
// reserved, while other accounts go on.
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "tests/content_http/content_fixture.h"

namespace content_http_tests {
namespace {

using Clock = std::chrono::steady_clock;
using testing_support::http_get;

constexpr int64_t kHangMs = 4'000;
constexpr const char* kHangMarker = "Hangmarker";
constexpr std::size_t kOutboundWorkers = 8;
constexpr double kLatencyBoundMs = 200;

// 60 words (one chunk, 30 credits) that the fake model answers only after kHangMs.
std::string slow_text() { return std::string(kHangMarker) + " " + prose(59); }

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

FakeResponse humanizer_hanging_on_marker(const RecordedRequest& request) {
  if (request_text(request).find(kHangMarker) != std::string::npos) {
    return FakeResponse::json(200, R"({"text":"slowly humanized."})", kHangMs);
  }
  return FakeResponse::json(200, R"({"text":"quickly humanized."})");
}

class BulkheadTest : public ContentHttpTest {
 protected:
  // Twice as many outbound workers as ledger workers: with one shared pool the hanging
  // model calls alone would hold every worker. The model holds each request four times
  // --header_timeout_ms, which Pistache would apply to requests still in a worker.
  static void SetUpTestSuite() {
    start_environment({"--workers=4", "--outbound_workers=8", "--outbound_queue_max=2",
                       "--content_concurrency_per_account=2", "--header_timeout_ms=1000"});
  }

  void SetUp() override {
    ContentHttpTest::SetUp();
    backends_->on(kHumanizerPath, humanizer_hanging_on_marker);
  }

  // Starts `count` humanize requests of `account` that the model will hold.
  static void start_slow(const std::string& account, int count,
                         std::vector<std::future<TestResponse>>& started) {
    for (int i = 0; i < count; ++i) {
      started.push_back(std::async(std::launch::async,
                                   [account] { return humanize(account, text_body(slow_text())); }));
    }
  }

  // Waits until the model holds `count` calls (each one an outbound worker).
  static bool wait_for_hanging_calls(std::size_t count) {
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline) {
      std::size_t hanging = 0;
      for (const RecordedRequest& call : backends_->requests_to(kHumanizerPath)) {
        hanging += request_text(call).find(kHangMarker) != std::string::npos;
      }
      if (hanging >= count) return hanging == count;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // The slowest of `count` calls, in milliseconds; each must answer `status`.
  static double slowest_ms(int count, const std::function<TestResponse()>& call, long status) {
    double slowest = 0;
    for (int i = 0; i < count; ++i) {
      const Clock::time_point started = Clock::now();
      const TestResponse response = call();
      slowest = std::max(slowest, elapsed_ms(started));
      EXPECT_EQ(response.status, status) << response.body;
    }
    return slowest;
  }

  // Times `call`, which must be refused with `status` and `body` (retry_after 5, also as
  // Retry-After) within the latency bound; returns the milliseconds it took.
  static double expect_prompt_refusal(const std::function<TestResponse()>& call, long status,
                                      const std::string& body) {
    const Clock::time_point started = Clock::now();
    const TestResponse refused = call();
    const double refused_ms = elapsed_ms(started);
    EXPECT_EQ(refused.status, status);
    EXPECT_EQ(refused.body, body);
    EXPECT_EQ(refused.header("retry-after"), "5");
    EXPECT_LT(refused_ms, kLatencyBoundMs);
    return refused_ms;
  }

  static double metric(const std::string& name) {
    return testing_support::metric_sample(http_get(url("/metrics"), {}).body, name).value_or(-1);
  }

  static void expect_all_ok(std::vector<std::future<TestResponse>>& requests) {
    for (auto& request : requests) {
      const TestResponse response = request.get();
      EXPECT_EQ(response.status, 200) << response.body;
    }
  }
};

TEST_F(BulkheadTest, HealthAndOtherAccountsStayFastWhileTheModelHoldsEveryOutboundWorker) {
  const std::string reader = new_account();
  ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(reader)).status, 200);
  std::vector<std::future<TestResponse>> slow;
  for (std::size_t i = 0; i < kOutboundWorkers / 2; ++i) start_slow(new_account(), 2, slow);
  ASSERT_TRUE(wait_for_hanging_calls(kOutboundWorkers));

  const double health_ms =
      slowest_ms(20, [] { return http_get(url("/api/v1/health"), {}); }, 200);
  const double credits_ms =
      slowest_ms(20, [&] { return http_get(url("/api/v1/credits"), bearer(reader)); }, 200);
  EXPECT_LT(health_ms, kLatencyBoundMs);
  EXPECT_LT(credits_ms, kLatencyBoundMs);
  EXPECT_EQ(metric("ledger_outbound_workers_busy"), static_cast<double>(kOutboundWorkers));
  EXPECT_EQ(metric("ledger_content_requests_in_flight"), static_cast<double>(kOutboundWorkers));
  EXPECT_EQ(metric("ledger_worker_queue_depth"), 0);  // nothing waits for a ledger worker
  std::printf("with %zu humanize requests held by the model: /api/v1/health <= %.1f ms, "
              "GET /api/v1/credits <= %.1f ms (20 calls each)\n",
              kOutboundWorkers, health_ms, credits_ms);
  expect_all_ok(slow);
}

// Pistache applies the header timeout from dispatch to response; ledgerd exempts requests in
// a worker, so a request handled four times longer than --header_timeout_ms is answered
// (before: 408 and a closed connection while the charge went on).
TEST_F(BulkheadTest, ARequestHandledLongerThanTheHeaderTimeoutIsAnswered) {
  const std::string account = new_account();
  const TestResponse slow = humanize(account, text_body(slow_text()));
  ASSERT_EQ(slow.status, 200) << slow.body;
  EXPECT_GE(parse(slow.body)["processing_time_ms"].GetInt64(), kHangMs);
  EXPECT_EQ(balance(account)->credits_available, kFreeCredits - kHumanizeBaseCredits);
  EXPECT_EQ(balance(account)->credits_reserved, 0);
}

TEST_F(BulkheadTest, AFullOutboundQueueIs503AtOnceAndTouchesNoLedger) {
  std::vector<std::future<TestResponse>> slow;
  for (std::size_t i = 0; i < kOutboundWorkers / 2; ++i) start_slow(new_account(), 2, slow);
  ASSERT_TRUE(wait_for_hanging_calls(kOutboundWorkers));
  std::vector<std::future<TestResponse>> queued;
  for (int i = 0; i < 2; ++i) {  // --outbound_queue_max=2
    queued.push_back(std::async(std::launch::async, [account = new_account()] {
      return humanize(account, text_body(prose(60)));
    }));
  }
  ASSERT_TRUE(testing_support::wait_for_metric(url("/metrics"), "ledger_outbound_queue_depth", 2));

  const std::string refused_account = new_account();
  const double refused_ms = expect_prompt_refusal(
      [&] { return humanize(refused_account, text_body(prose(60))); }, 503,
      R"({"error":"service_unavailable","retry_after":5})");
  EXPECT_EQ(detect(refused_account, text_body(prose(60))).status, 503);
  // Refused before authentication: the account was never even opened.
  EXPECT_EQ(event_count(refused_account), 0);
  EXPECT_FALSE(balance(refused_account).has_value());
  EXPECT_EQ(http_get(url("/api/v1/health"), {}).status, 200);
  std::printf("outbound queue full: 503 in %.1f ms\n", refused_ms);
  expect_all_ok(slow);
  expect_all_ok(queued);  // served once workers came free
}

TEST_F(BulkheadTest, AnAccountsThirdConcurrentRequestIs429AndReservesNothing) {
  const std::string busy = new_account();
  std::vector<std::future<TestResponse>> slow;
  start_slow(busy, 2, slow);
  ASSERT_TRUE(wait_for_hanging_calls(2));
  const std::size_t model_calls = backends_->requests_to(kHumanizerPath).size();

  const double third_ms =
      expect_prompt_refusal([&] { return humanize(busy, text_body(prose(60))); }, 429,
                            R"({"error":"rate_limit_exceeded","retry_after":5})");
  const TestResponse detect_too = detect(busy, text_body(prose(60)));  // one cap for both
  EXPECT_EQ(detect_too.status, 429) << detect_too.body;
  EXPECT_EQ(backends_->requests_to(kHumanizerPath).size(), model_calls);
  EXPECT_TRUE(backends_->requests_to(kInternalPath).empty());
  // Only the two requests in flight hold credits.
  EXPECT_EQ(balance(busy)->credits_reserved, 2 * kHumanizeBaseCredits);
  EXPECT_EQ(balance(busy)->credits_available, kFreeCredits - 2 * kHumanizeBaseCredits);
  EXPECT_EQ(open_reservations(busy), 2);
  EXPECT_EQ(metric("ledger_content_requests_in_flight"), 2);

  // Another account is served meanwhile.
  const std::string other = new_account();
  const TestResponse served = humanize(other, text_body(prose(60)));
  EXPECT_EQ(served.status, 200) << served.body;
  EXPECT_EQ(balance(other)->credits_available, kFreeCredits - kHumanizeBaseCredits);
  std::printf("third concurrent request of one account: 429 in %.1f ms\n", third_ms);

  // Finished requests give their places back.
  expect_all_ok(slow);
  EXPECT_EQ(humanize(busy, text_body(prose(60))).status, 200);
  EXPECT_EQ(balance(busy)->credits_available, kFreeCredits - 3 * kHumanizeBaseCredits);
  EXPECT_EQ(balance(busy)->credits_reserved, 0);
  EXPECT_EQ(metric("ledger_content_requests_in_flight"), 0);
  expect_ledger_verified();
}

}  // namespace
}  // namespace content_http_tests
