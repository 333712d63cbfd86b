// Tests for integrations/detectors.h: aggregation math and verdicts; the parallel fan-out
// (timeouts isolated per detector, total time near the slowest, not the sum); the
// internal detector's place in the average; the Copyleaks token cache and login limit.
#include "integrations/detectors.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "tests/integrations/detector_fakes.h"

namespace {

using integrations::AggregateScore;
using integrations::DetectorConfig;
using integrations::DetectorFanout;
using integrations::DetectorKind;
using integrations::DetectorResult;
using integrations::DetectorStatus;
using integrations::Verdict;
using integrations::VerdictThresholds;
using integrations_testing::config_of;
using integrations_testing::kLongText;
using integrations_testing::provider;
using testing_support::FakeHttpServer;
using testing_support::FakeResponse;
using testing_support::RecordedRequest;

using integrations_testing::Clock;
using integrations_testing::ms_since;

DetectorResult success(const std::string& name, double score) {
  return {name, DetectorStatus::kSuccess, score, 100, ""};
}

const VerdictThresholds kThresholds{35.0, 65.0};

// --- aggregation ----------------------------------------------------------------

TEST(Aggregate, WeightedMeanOfSuccessesOnly) {
  const std::vector<DetectorResult> results = {
      success("a", 20.0),
      success("b", 80.0),
      {"slow", DetectorStatus::kTimeout, 99.0, 8000, "timeout"},
      {"broken", DetectorStatus::kError, 99.0, 10, "HTTP 500"},
      {"short", DetectorStatus::kSkipped, 99.0, 0, "too short"}};
  const AggregateScore aggregated =
      integrations::aggregate(results, {{"a", 1.0}, {"b", 3.0}}, kThresholds);
  ASSERT_TRUE(aggregated.overall_score.has_value());
  EXPECT_DOUBLE_EQ(*aggregated.overall_score, 65.0);  // (20 + 240) / 4
  EXPECT_EQ(aggregated.verdict, Verdict::kLikelyAi);
  EXPECT_EQ(aggregated.contributing, 2);
}

TEST(Aggregate, SeedExampleWithEqualWeightsIncludingInternal) {
  std::vector<DetectorResult> results = {
      success("gptzero", 25.0),     success("zerogpt", 30.0),   success("sapling", 15.0),
      success("copyleaks", 20.0),   success("writer", 22.0),    success("turnitin", 28.0),
      success("originality", 19.0), success("crossplag", 24.0), success("contentatscale", 21.0),
      success("internal", 18.2)};
  const AggregateScore aggregated = integrations::aggregate(results, {}, kThresholds);
  EXPECT_DOUBLE_EQ(*aggregated.overall_score, 22.2);  // 222.2 / 10
  EXPECT_EQ(aggregated.verdict, Verdict::kLikelyHuman);
  EXPECT_EQ(aggregated.contributing, 10);
}

TEST(Aggregate, InternalWeightComesFromTheConfig) {
  integrations::DetectorsConfig config;
  config.internal_weight = 3.0;
  config.detectors = {provider(DetectorKind::kSapling, "sapling", "")};
  const AggregateScore aggregated = integrations::aggregate(
      {success("sapling", 80.0), success("internal", 40.0)}, config.weights(), config.verdict);
  EXPECT_DOUBLE_EQ(*aggregated.overall_score, 50.0);  // (80 + 120) / 4
  EXPECT_EQ(aggregated.verdict, Verdict::kMixed);
}

TEST(Aggregate, ZeroWeightIsShownButNotAveraged) {
  const AggregateScore aggregated =
      integrations::aggregate({success("a", 10.0), success("b", 90.0)}, {{"b", 0.0}}, kThresholds);
  EXPECT_DOUBLE_EQ(*aggregated.overall_score, 10.0);
  EXPECT_EQ(aggregated.contributing, 1);
}

TEST(Aggregate, NothingToAverageIsUndetermined) {
  const AggregateScore aggregated =
      integrations::aggregate({{"x", DetectorStatus::kTimeout, 0.0, 10, ""}}, {}, kThresholds);
  EXPECT_FALSE(aggregated.overall_score.has_value());
  EXPECT_EQ(aggregated.verdict, Verdict::kUndetermined);
  EXPECT_EQ(integrations::verdict_name(aggregated.verdict), "undetermined");
}

TEST(Aggregate, RoundsToOneDecimal) {
  const AggregateScore aggregated = integrations::aggregate(
      {success("a", 10.0), success("b", 10.0), success("c", 11.0)}, {}, kThresholds);
  EXPECT_DOUBLE_EQ(*aggregated.overall_score, 10.3);  // 10.333...
}

TEST(Verdict, ThresholdEdges) {
  EXPECT_EQ(integrations::verdict_for(0.0, kThresholds), Verdict::kLikelyHuman);
  EXPECT_EQ(integrations::verdict_for(34.9, kThresholds), Verdict::kLikelyHuman);
  EXPECT_EQ(integrations::verdict_for(35.0, kThresholds), Verdict::kMixed);
  EXPECT_EQ(integrations::verdict_for(64.9, kThresholds), Verdict::kMixed);
  EXPECT_EQ(integrations::verdict_for(65.0, kThresholds), Verdict::kLikelyAi);
  EXPECT_EQ(integrations::verdict_for(100.0, kThresholds), Verdict::kLikelyAi);
  EXPECT_EQ(integrations::verdict_name(Verdict::kLikelyHuman), "likely_human");
  EXPECT_EQ(integrations::verdict_name(Verdict::kMixed), "mixed");
  EXPECT_EQ(integrations::verdict_name(Verdict::kLikelyAi), "likely_ai");
  EXPECT_EQ(integrations::detector_status_name(DetectorStatus::kTimeout), "timeout");
}

// --- fan-out --------------------------------------------------------------------

// One fake server that plays every provider, answering after a per-path delay.
class MultiProviderFake {
 public:
  MultiProviderFake()
      : server_([this](const RecordedRequest& request) { return answer(request); }) {}

  std::string url() const { return server_.url(); }
  const FakeHttpServer& server() const { return server_; }
  void set_delay_ms(int64_t delay_ms) { delay_ms_ = delay_ms; }

 private:
  FakeResponse answer(const RecordedRequest& request) const {
    const int64_t delay = delay_ms_;
    if (request.path == "/gptzero/v2/predict/text")
      return integrations_testing::gptzero_answer(0.2, delay);
    if (request.path == "/zerogpt/api/detect/detectText")
      return integrations_testing::zerogpt_answer(30, delay);
    if (request.path == "/sapling/api/v1/aidetect")
      return integrations_testing::sapling_answer(0.4, delay);
    if (request.path == "/copyleaks/v3/account/login/api")
      return integrations_testing::copyleaks_login_answer("t");
    if (request.path.rfind("/copyleaks/v2/writer-detector/", 0) == 0) {
      return integrations_testing::copyleaks_answer(0.5, delay);
    }
    if (request.path == "/writer/v1/tools/ai-detect")
      return integrations_testing::writer_answer("fake", 0.6, delay);
    if (request.path == "/originality/api/v1/scan/ai")
      return integrations_testing::originality_answer(0.7, delay);
    // Generic detectors: "/generic/<delay_ms>".
    if (request.path.rfind("/generic/", 0) == 0) {
      return FakeResponse::json(200, R"({"ai_score":50})", std::stoll(request.path.substr(9)));
    }
    return FakeResponse::json(404, R"({"error":"unknown path"})");
  }

  std::atomic<int64_t> delay_ms_{0};
  FakeHttpServer server_;
};

TEST(DetectorFanout, SlowDetectorTimesOutWhileOthersSucceed) {
  FakeHttpServer slow(
      [](const RecordedRequest&) { return integrations_testing::sapling_answer(0.9, 3'000); });
  FakeHttpServer fast(
      [](const RecordedRequest&) { return integrations_testing::gptzero_answer(0.1, 50); });
  DetectorConfig slow_detector = provider(DetectorKind::kSapling, "sapling", slow.url());
  slow_detector.timeout_ms = 300;
  DetectorFanout fanout(
      config_of({slow_detector, provider(DetectorKind::kGptzero, "gptzero", fast.url())}));

  const auto started = Clock::now();
  const auto results = fanout.run_detectors(kLongText, std::nullopt);
  const int64_t elapsed_ms = ms_since(started);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].name, "sapling");
  EXPECT_EQ(results[0].status, DetectorStatus::kTimeout) << results[0].reason;
  EXPECT_GE(results[0].latency_ms, 250);
  EXPECT_EQ(results[1].name, "gptzero");
  EXPECT_EQ(results[1].status, DetectorStatus::kSuccess) << results[1].reason;
  EXPECT_DOUBLE_EQ(results[1].score, 10.0);
  EXPECT_LT(elapsed_ms, 1'500);
}

TEST(DetectorFanout, NineDetectorsRunInParallel) {
  MultiProviderFake fake;
  fake.set_delay_ms(300);
  const std::string base = fake.url();
  std::vector<DetectorConfig> detectors = {
      provider(DetectorKind::kGptzero, "gptzero", base + "/gptzero"),
      provider(DetectorKind::kZerogpt, "zerogpt", base + "/zerogpt"),
      provider(DetectorKind::kSapling, "sapling", base + "/sapling"),
      provider(DetectorKind::kCopyleaks, "copyleaks", base + "/copyleaks"),
      provider(DetectorKind::kWriter, "writer", base + "/writer"),
      provider(DetectorKind::kOriginality, "originality", base + "/originality"),
      integrations_testing::generic("turnitin", base + "/generic/500", "/ai_score"),
      integrations_testing::generic("crossplag", base + "/generic/50", "/ai_score"),
      integrations_testing::generic("contentatscale", base + "/generic/450", "/ai_score")};
  const int64_t latency_sum_ms = 6 * 300 + 500 + 50 + 450;  // 2,800 ms if run one by one.
  DetectorFanout fanout(config_of(detectors, 5'000));

  const auto started = Clock::now();
  const auto results = fanout.run_detectors(kLongText, std::nullopt);
  const int64_t elapsed_ms = ms_since(started);
  ASSERT_EQ(results.size(), 9u);
  for (const DetectorResult& result : results) {
    EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.name << ": " << result.reason;
  }
  EXPECT_DOUBLE_EQ(results[0].score, 20.0);
  EXPECT_DOUBLE_EQ(results[4].score, 60.0);
  EXPECT_GE(elapsed_ms, 500);                 // The slowest detector.
  EXPECT_LT(elapsed_ms, latency_sum_ms / 2);  // Parallel, not sequential.
}

TEST(DetectorFanout, OverallDeadlineCapsEveryDetector) {
  MultiProviderFake fake;
  fake.set_delay_ms(3'000);
  std::vector<DetectorConfig> detectors = {
      provider(DetectorKind::kGptzero, "gptzero", fake.url() + "/gptzero"),
      provider(DetectorKind::kSapling, "sapling", fake.url() + "/sapling")};
  for (auto& detector : detectors) detector.timeout_ms = 10'000;
  DetectorFanout fanout(config_of(detectors, 400));
  const auto started = Clock::now();
  const auto results = fanout.run_detectors(kLongText, std::nullopt);
  EXPECT_LT(ms_since(started), 1'500);
  for (const auto& result : results)
    EXPECT_EQ(result.status, DetectorStatus::kTimeout) << result.reason;
}

TEST(DetectorFanout, SelectionDisabledAndUnknownDetectors) {
  MultiProviderFake fake;
  DetectorConfig disabled = provider(DetectorKind::kZerogpt, "zerogpt", fake.url() + "/zerogpt");
  disabled.enabled = false;
  DetectorFanout fanout(
      config_of({provider(DetectorKind::kGptzero, "gptzero", fake.url() + "/gptzero"), disabled,
                 provider(DetectorKind::kSapling, "sapling", fake.url() + "/sapling")}));

  const auto all_enabled = fanout.run_detectors(kLongText, std::nullopt);
  ASSERT_EQ(all_enabled.size(), 2u);  // The disabled one is not listed.
  EXPECT_EQ(all_enabled[0].name, "gptzero");
  EXPECT_EQ(all_enabled[1].name, "sapling");

  const auto chosen =
      fanout.run_detectors(kLongText, std::vector<std::string>{"sapling", "zerogpt", "nope"});
  ASSERT_EQ(chosen.size(), 3u);
  EXPECT_EQ(chosen[0].name, "zerogpt");
  EXPECT_EQ(chosen[0].status, DetectorStatus::kSkipped);
  EXPECT_EQ(chosen[0].reason, "disabled");
  EXPECT_EQ(chosen[1].name, "sapling");
  EXPECT_EQ(chosen[1].status, DetectorStatus::kSuccess);
  EXPECT_EQ(chosen[2].name, "nope");
  EXPECT_EQ(chosen[2].status, DetectorStatus::kError);
  EXPECT_EQ(fanout.unknown_names({"sapling", "nope", "internal"}),
            (std::vector<std::string>{"nope", "internal"}));
  EXPECT_TRUE(fanout.run_detectors(kLongText, std::vector<std::string>{}).empty());
}

TEST(DetectorFanout, DetectIncludesTheHeuristicInternalScore) {
  MultiProviderFake fake;
  DetectorFanout fanout(
      config_of({provider(DetectorKind::kGptzero, "gptzero", fake.url() + "/gptzero")}));
  const auto report = fanout.detect(kLongText, std::nullopt);
  ASSERT_EQ(report.detectors.size(), 1u);
  EXPECT_EQ(report.internal.name, "internal");
  EXPECT_EQ(report.internal.status, DetectorStatus::kSuccess);
  const double expected = std::round((20.0 + report.internal.score) / 2.0 * 10.0) / 10.0;
  EXPECT_DOUBLE_EQ(*report.aggregate.overall_score, expected);
  EXPECT_EQ(report.aggregate.contributing, 2);
}

TEST(DetectorFanout, RemoteInternalDetectorJoinsTheFanOut) {
  MultiProviderFake fake;
  fake.set_delay_ms(500);
  FakeHttpServer internal_service([](const RecordedRequest& request) {
    const bool has_text = integrations_testing::json_string_at(request.body, "/text") == kLongText;
    return FakeResponse::json(has_text ? 200 : 400, R"({"score":40.0})", 500);
  });
  DetectorFanout fanout(
      config_of({provider(DetectorKind::kGptzero, "gptzero", fake.url() + "/gptzero")}),
      integrations::InternalDetector({internal_service.url() + "/score", 5'000, 1'000}));
  const auto started = Clock::now();
  const auto report = fanout.detect(kLongText, std::nullopt);
  EXPECT_LT(ms_since(started), 900);  // Both 500 ms calls overlapped.
  EXPECT_EQ(report.internal.status, DetectorStatus::kSuccess) << report.internal.reason;
  EXPECT_DOUBLE_EQ(report.internal.score, 40.0);
  EXPECT_DOUBLE_EQ(*report.aggregate.overall_score, 30.0);  // (20 + 40) / 2
  EXPECT_EQ(report.aggregate.verdict, Verdict::kLikelyHuman);
}

TEST(DetectorFanout, FailingInternalDetectorIsExcluded) {
  MultiProviderFake fake;
  FakeHttpServer internal_service(
      [](const RecordedRequest&) { return FakeResponse::json(200, R"({"score":140})"); });
  DetectorFanout fanout(
      config_of({provider(DetectorKind::kGptzero, "gptzero", fake.url() + "/gptzero")}),
      integrations::InternalDetector({internal_service.url(), 5'000, 1'000}));
  const auto report = fanout.detect(kLongText, std::nullopt);
  EXPECT_EQ(report.internal.status, DetectorStatus::kError);
  EXPECT_NE(report.internal.reason.find("outside 0..100"), std::string::npos);
  EXPECT_DOUBLE_EQ(*report.aggregate.overall_score, 20.0);
  EXPECT_EQ(report.aggregate.contributing, 1);
}

// --- Copyleaks token cache ------------------------------------------------------

// A Copyleaks fake that counts logins and answers checks with 200 or a fixed status.
class CopyleaksFake {
 public:
  CopyleaksFake() : server_([this](const RecordedRequest& request) { return answer(request); }) {}

  std::string url() const { return server_.url(); }
  int logins() const { return logins_; }
  int checks() const { return checks_; }
  void set_login_status(int status) { login_status_ = status; }
  void set_check_status(int status) { check_status_ = status; }
  void set_login_delay_ms(int64_t delay_ms) { login_delay_ms_ = delay_ms; }

 private:
  FakeResponse answer(const RecordedRequest& request) {
    if (request.path == "/v3/account/login/api") {
      const int login = ++logins_;
      if (login_status_ != 200)
        return FakeResponse::json(login_status_, R"({"message":"Unauthorized"})");
      FakeResponse response =
          integrations_testing::copyleaks_login_answer("tok-" + std::to_string(login));
      response.delay_ms = login_delay_ms_;
      return response;
    }
    ++checks_;
    if (check_status_ != 200)
      return FakeResponse::json(check_status_, R"({"message":"token expired"})");
    return integrations_testing::copyleaks_answer(0.5);
  }

  std::atomic<int> logins_{0};
  std::atomic<int> checks_{0};
  std::atomic<int> login_status_{200};
  std::atomic<int> check_status_{200};
  std::atomic<int64_t> login_delay_ms_{0};
  FakeHttpServer server_;
};

// A manually advanced clock for token expiry.
struct ManualClock {
  std::shared_ptr<std::atomic<int64_t>> offset_s = std::make_shared<std::atomic<int64_t>>(0);
  integrations::CopyleaksTokenCache::NowFunction function() const {
    auto offset = offset_s;
    const auto origin = Clock::now();
    return [offset, origin] { return origin + std::chrono::seconds(offset->load()); };
  }
  void advance(std::chrono::seconds by) { *offset_s += by.count(); }
};

TEST(CopyleaksTokens, TokenIsCachedAcrossCalls) {
  CopyleaksFake fake;
  DetectorFanout fanout(config_of({provider(DetectorKind::kCopyleaks, "copyleaks", fake.url())}));
  for (int i = 0; i < 3; ++i) {
    const auto results = fanout.run_detectors(kLongText, std::nullopt);
    EXPECT_EQ(results[0].status, DetectorStatus::kSuccess) << results[0].reason;
  }
  EXPECT_EQ(fake.logins(), 1);
  EXPECT_EQ(fake.checks(), 3);
  EXPECT_EQ(fanout.token_cache().logins_sent(), 1);
}

TEST(CopyleaksTokens, ExpiredTokenTriggersANewLogin) {
  CopyleaksFake fake;
  ManualClock clock;
  DetectorFanout fanout(config_of({provider(DetectorKind::kCopyleaks, "copyleaks", fake.url())}),
                        integrations::InternalDetector(), clock.function());
  fanout.run_detectors(kLongText, std::nullopt);
  clock.advance(std::chrono::hours(47));  // Still valid (renewed 30 min before 48 h).
  fanout.run_detectors(kLongText, std::nullopt);
  EXPECT_EQ(fake.logins(), 1);
  clock.advance(std::chrono::hours(1));
  const auto results = fanout.run_detectors(kLongText, std::nullopt);
  EXPECT_EQ(results[0].status, DetectorStatus::kSuccess);
  EXPECT_EQ(fake.logins(), 2);
}

TEST(CopyleaksTokens, UnauthorizedCheckDropsTheToken) {
  CopyleaksFake fake;
  fake.set_check_status(401);
  DetectorFanout fanout(config_of({provider(DetectorKind::kCopyleaks, "copyleaks", fake.url())}));
  const auto first = fanout.run_detectors(kLongText, std::nullopt);
  EXPECT_EQ(first[0].status, DetectorStatus::kError);
  EXPECT_NE(first[0].reason.find("HTTP 401"), std::string::npos);
  fake.set_check_status(200);
  const auto second = fanout.run_detectors(kLongText, std::nullopt);
  EXPECT_EQ(second[0].status, DetectorStatus::kSuccess) << second[0].reason;
  EXPECT_EQ(fake.logins(), 2);
}

TEST(CopyleaksTokens, LoginsAreLimitedTo12Per15Minutes) {
  CopyleaksFake fake;
  fake.set_login_status(401);  // Every login fails, so every call tries again.
  ManualClock clock;
  DetectorFanout fanout(config_of({provider(DetectorKind::kCopyleaks, "copyleaks", fake.url())}),
                        integrations::InternalDetector(), clock.function());
  for (int i = 0; i < 12; ++i) {
    const auto results = fanout.run_detectors(kLongText, std::nullopt);
    EXPECT_EQ(results[0].status, DetectorStatus::kError);
    EXPECT_NE(results[0].reason.find("login failed: HTTP 401"), std::string::npos)
        << results[0].reason;
  }
  const auto refused = fanout.run_detectors(kLongText, std::nullopt);
  EXPECT_EQ(refused[0].status, DetectorStatus::kError);
  EXPECT_NE(refused[0].reason.find("login refused"), std::string::npos) << refused[0].reason;
  EXPECT_EQ(fake.logins(), 12);  // The 13th was never sent.

  clock.advance(std::chrono::minutes(15));
  fake.set_login_status(200);
  const auto later = fanout.run_detectors(kLongText, std::nullopt);
  EXPECT_EQ(later[0].status, DetectorStatus::kSuccess) << later[0].reason;
  EXPECT_EQ(fake.logins(), 13);
}

TEST(CopyleaksTokens, ConcurrentCallersShareOneLogin) {
  CopyleaksFake fake;
  fake.set_login_delay_ms(200);
  DetectorFanout fanout(config_of({provider(DetectorKind::kCopyleaks, "copyleaks", fake.url())}));
  std::vector<std::thread> threads;
  std::atomic<int> successes{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      const auto results = fanout.run_detectors(kLongText, std::nullopt);
      if (results[0].status == DetectorStatus::kSuccess) ++successes;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(successes.load(), 4);
  EXPECT_EQ(fake.logins(), 1);
}

}  // namespace
