// Tests for integrations/humanizer.h: the HUMANIZER_URL protocol (fields sent, retry
// once on 5xx, failure on 4xx/timeouts/bad answers, bounded parallelism), the local
// rewriter fallback, and the internal detector client.
#include "integrations/humanizer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "content/ai_heuristic.h"
#include "content/local_rewriter.h"
#include "tests/integrations/detector_fakes.h"

namespace {

using integrations::ChunkOutcome;
using integrations::DetectorStatus;
using integrations::HumanizerClient;
using integrations::HumanizerSettings;
using integrations::InternalDetector;
using integrations_testing::json_string_at;
using testing_support::FakeHttpServer;
using testing_support::FakeResponse;
using testing_support::RecordedRequest;

using integrations_testing::Clock;
using integrations_testing::ms_since;

// Answers {"text": "humanized: <text>"}.
FakeResponse echo(const RecordedRequest& request, int64_t delay_ms = 0) {
  return FakeResponse::json(
      200, R"({"text":"humanized: )" + json_string_at(request.body, "/text") + "\"}", delay_ms);
}

HumanizerSettings settings_for(const FakeHttpServer& server, long timeout_ms = 2'000) {
  HumanizerSettings settings;
  settings.url = server.url() + "/humanize";
  settings.timeout_ms = timeout_ms;
  settings.connect_timeout_ms = 1'000;
  settings.overall_timeout_ms = 10'000;
  return settings;
}

const content::HumanizeOptions kOptions{"creative", "journalist", "essay"};

TEST(HumanizerClient, SendsTheProtocolFieldsAndReturnsChunksInOrder) {
  FakeHttpServer server([](const RecordedRequest& request) { return echo(request); });
  const HumanizerClient client(settings_for(server));
  EXPECT_FALSE(client.uses_local_rewriter());
  const auto outcomes =
      client.humanize_chunks({"first chunk", "second chunk", "third"}, kOptions, 4);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].ok) << outcomes[0].error;
  EXPECT_EQ(outcomes[0].text, "humanized: first chunk");
  EXPECT_EQ(outcomes[1].text, "humanized: second chunk");
  EXPECT_EQ(outcomes[2].text, "humanized: third");
  EXPECT_EQ(outcomes[0].attempts, 1);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& request : requests) {
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.path, "/humanize");
    EXPECT_EQ(json_string_at(request.body, "/mode"), "creative");
    EXPECT_EQ(json_string_at(request.body, "/readability"), "journalist");
    EXPECT_EQ(json_string_at(request.body, "/purpose"), "essay");
  }
}

TEST(HumanizerClient, RetriesOnceOn5xx) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&calls](const RecordedRequest& request) {
    if (++calls == 1) return FakeResponse::json(503, R"({"error":"warming up"})");
    return echo(request);
  });
  const auto outcomes =
      HumanizerClient(settings_for(server)).humanize_chunks({"text"}, kOptions, 1);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].ok) << outcomes[0].error;
  EXPECT_EQ(outcomes[0].text, "humanized: text");
  EXPECT_EQ(outcomes[0].attempts, 2);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(HumanizerClient, FailsAfterTwo5xx) {
  FakeHttpServer server([](const RecordedRequest&) {
    return FakeResponse::json(500, R"({"error":"model crashed"})");
  });
  const auto outcomes =
      HumanizerClient(settings_for(server)).humanize_chunks({"text"}, kOptions, 1);
  EXPECT_FALSE(outcomes[0].ok);
  EXPECT_EQ(outcomes[0].attempts, 2);
  EXPECT_NE(outcomes[0].error.find("HTTP 500: model crashed"), std::string::npos)
      << outcomes[0].error;
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(HumanizerClient, FailsOn4xxWithoutRetry) {
  FakeHttpServer server(
      [](const RecordedRequest&) { return FakeResponse::json(422, R"({"error":"bad mode"})"); });
  const auto outcomes =
      HumanizerClient(settings_for(server)).humanize_chunks({"a", "b"}, kOptions, 2);
  for (const ChunkOutcome& outcome : outcomes) {
    EXPECT_FALSE(outcome.ok);
    EXPECT_EQ(outcome.attempts, 1);
    EXPECT_FALSE(outcome.timed_out);
    EXPECT_NE(outcome.error.find("HTTP 422"), std::string::npos);
  }
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(HumanizerClient, OnlyTheFailingChunkFails) {
  FakeHttpServer server([](const RecordedRequest& request) {
    if (json_string_at(request.body, "/text") == "bad") return FakeResponse::json(400, "{}");
    return echo(request);
  });
  const auto outcomes =
      HumanizerClient(settings_for(server)).humanize_chunks({"good", "bad", "fine"}, kOptions, 3);
  EXPECT_TRUE(outcomes[0].ok);
  EXPECT_FALSE(outcomes[1].ok);
  EXPECT_TRUE(outcomes[2].ok);
}

TEST(HumanizerClient, BadAnswersFailTheChunk) {
  for (const char* body :
       {"not json", R"({"txt":"x"})", R"({"text":""})", R"({"text":42})", "[]"}) {
    FakeHttpServer server([body](const RecordedRequest&) { return FakeResponse::json(200, body); });
    const auto outcomes =
        HumanizerClient(settings_for(server)).humanize_chunks({"chunk"}, kOptions, 1);
    EXPECT_FALSE(outcomes[0].ok) << body;
    EXPECT_EQ(outcomes[0].attempts, 1) << body;
  }
}

TEST(HumanizerClient, TimeoutFailsTheChunk) {
  FakeHttpServer server([](const RecordedRequest& request) { return echo(request, 3'000); });
  const auto started = Clock::now();
  const auto outcomes =
      HumanizerClient(settings_for(server, 200)).humanize_chunks({"slow"}, kOptions, 1);
  EXPECT_LT(ms_since(started), 1'500);
  EXPECT_FALSE(outcomes[0].ok);
  EXPECT_TRUE(outcomes[0].timed_out);
}

TEST(HumanizerClient, ParallelismIsBounded) {
  FakeHttpServer server([](const RecordedRequest& request) { return echo(request, 150); });
  const HumanizerClient client(settings_for(server));
  const std::vector<std::string> chunks = {"1", "2", "3", "4", "5", "6"};

  auto started = Clock::now();
  auto outcomes = client.humanize_chunks(chunks, kOptions, 2);
  const int64_t bounded_ms = ms_since(started);
  for (const auto& outcome : outcomes) EXPECT_TRUE(outcome.ok) << outcome.error;
  EXPECT_GE(bounded_ms, 3 * 150 - 20);  // Three waves of two.

  started = Clock::now();
  outcomes = client.humanize_chunks(chunks, kOptions, 6);
  const int64_t wide_ms = ms_since(started);
  for (const auto& outcome : outcomes) EXPECT_TRUE(outcome.ok) << outcome.error;
  EXPECT_LT(wide_ms, 2 * 150 + 100);  // One wave.
}

TEST(HumanizerClient, WithoutUrlUsesTheLocalRewriter) {
  const HumanizerClient client(HumanizerSettings{});
  EXPECT_TRUE(client.uses_local_rewriter());
  const std::vector<std::string> chunks = {"We utilize tools.", "Furthermore, it is fast."};
  const auto outcomes = client.humanize_chunks(chunks, content::HumanizeOptions{}, 4);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].ok);
  EXPECT_EQ(outcomes[0].text, content::rewrite_locally(chunks[0], "standard"));
  EXPECT_EQ(outcomes[1].text, "Also, it's fast.");
  EXPECT_EQ(outcomes[0].attempts, 0);
  EXPECT_TRUE(client.humanize_chunks({}, content::HumanizeOptions{}, 1).empty());
}

TEST(InternalDetector, RemoteServiceProtocol) {
  FakeHttpServer server([](const RecordedRequest& request) {
    return FakeResponse::json(200, json_string_at(request.body, "/text") == "some text"
                                       ? R"({"score":61.25})"
                                       : R"({"score":0})");
  });
  const InternalDetector detector({server.url() + "/detect", 2'000, 1'000});
  EXPECT_FALSE(detector.uses_heuristic());
  const auto result = detector.score("some text");
  EXPECT_EQ(result.name, "internal");
  EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.reason;
  EXPECT_DOUBLE_EQ(result.score, 61.3);
  EXPECT_EQ(server.requests_to("/detect").size(), 1u);
}

TEST(InternalDetector, RemoteFailures) {
  {
    FakeHttpServer server(
        [](const RecordedRequest&) { return FakeResponse::json(200, R"({"score":"high"})"); });
    EXPECT_EQ(InternalDetector({server.url(), 2'000, 1'000}).score("t").status,
              DetectorStatus::kError);
  }
  {
    FakeHttpServer server(
        [](const RecordedRequest&) { return FakeResponse::json(500, R"({"error":"x"})"); });
    const auto result = InternalDetector({server.url(), 2'000, 1'000}).score("t");
    EXPECT_EQ(result.status, DetectorStatus::kError);
    EXPECT_EQ(result.reason, "HTTP 500: x");
  }
  {
    FakeHttpServer server(
        [](const RecordedRequest&) { return FakeResponse::json(200, R"({"score":5})", 2'000); });
    EXPECT_EQ(InternalDetector({server.url(), 200, 100}).score("t").status,
              DetectorStatus::kTimeout);
  }
}

TEST(InternalDetector, WithoutUrlUsesTheHeuristic) {
  const InternalDetector detector;
  EXPECT_TRUE(detector.uses_heuristic());
  EXPECT_FALSE(detector.build_request("text", 1'000).has_value());
  const auto result = detector.score(integrations_testing::kLongText);
  EXPECT_EQ(result.status, DetectorStatus::kSuccess);
  EXPECT_DOUBLE_EQ(result.score, content::heuristic_ai_score(integrations_testing::kLongText));
}

}  // namespace
