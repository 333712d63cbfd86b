// POST /api/v1/detect end to end, against fakes of the nine external detectors (each in its
// provider's wire format) and of the internal detector service: aggregation and verdicts on
// fixed scores, per-detector timeouts and the overall deadline, selection, skips, the
// charge (once on any success, nothing when nothing succeeded) and the request errors.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "tests/content_http/content_fixture.h"
#include "tests/integrations/detector_fakes.h"

namespace content_http_tests {
namespace {

using Clock = std::chrono::steady_clock;
using integrations_testing::kLongText;  // ~70 words, > 350 characters: every provider's minimum.
namespace fakes = integrations_testing;

using DetectTest = ContentHttpTest;

int64_t ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

FakeResponse server_error(const RecordedRequest&) {
  return FakeResponse::json(500, R"({"error":"internal"})");
}

// The paths of the nine detectors' fakes, in configuration order (kDetectorNames).
const std::vector<std::string> kDetectorPaths = {
    kGptzeroPath,     kZerogptPath,  kSaplingPath,   kCopyleaksCheckPath, kWriterPath,
    kOriginalityPath, kTurnitinPath, kCrossplagPath, kContentAtScalePath};

const rapidjson::Value& detector(const rapidjson::Document& body, const std::string& name) {
  static const rapidjson::Value kMissing;
  const auto it = body["detectors"].FindMember(name.c_str());
  if (it == body["detectors"].MemberEnd()) {
    ADD_FAILURE() << "no detector " << name;
    return kMissing;
  }
  return it->value;
}

std::string status_of(const rapidjson::Document& body, const std::string& name) {
  const rapidjson::Value& entry = detector(body, name);
  return entry.IsObject() ? entry["status"].GetString() : "";
}

TEST_F(DetectTest, SeedExampleScoresAggregateThroughHttpAndChargeOnce) {
  const std::string account = new_account();
  const TestResponse response = detect(account, text_body(kLongText));
  ASSERT_EQ(response.status, 200) << response.body;
  const rapidjson::Document body = parse(response.body);
  ASSERT_EQ(body.MemberCount(), 7u) << response.body;  // Exactly the seed's fields.
  // (25 + 30 + 15 + 20 + 22 + 19 + 28 + 24 + 21 + 18.2) / 10 with equal weights.
  EXPECT_DOUBLE_EQ(body["overall_score"].GetDouble(), 22.2);
  EXPECT_EQ(std::string(body["verdict"].GetString()), "likely_human");
  EXPECT_DOUBLE_EQ(body["internal_score"].GetDouble(), 18.2);
  const std::map<std::string, double> expected = {
      {"gptzero", 25.0},   {"zerogpt", 30.0},   {"sapling", 15.0},
      {"copyleaks", 20.0}, {"writer", 22.0},    {"originality", 19.0},
      {"turnitin", 28.0},  {"crossplag", 24.0}, {"contentatscale", 21.0}};
  ASSERT_EQ(body["detectors"].MemberCount(), 9u);
  for (const auto& [name, score] : expected) {
    const rapidjson::Value& entry = detector(body, name);
    ASSERT_TRUE(entry.IsObject());
    EXPECT_EQ(entry.MemberCount(), 3u) << name;  // score, status, latency_ms
    EXPECT_DOUBLE_EQ(entry["score"].GetDouble(), score) << name;
    EXPECT_EQ(std::string(entry["status"].GetString()), "success") << name;
    EXPECT_TRUE(entry["latency_ms"].IsInt64()) << name;
  }
  EXPECT_EQ(body["credits_used"].GetInt64(), kDetectBaseCredits);
  EXPECT_EQ(body["credits_remaining"].GetInt64(), kFreeCredits - kDetectBaseCredits);
  EXPECT_TRUE(body["processing_time_ms"].IsInt64());
  const auto after = balance(account);
  EXPECT_EQ(after->credits_available, kFreeCredits - kDetectBaseCredits);
  EXPECT_EQ(after->credits_spent, kDetectBaseCredits);
  EXPECT_EQ(after->credits_reserved, 0);

  // Each provider was asked in its own format, with the sanitised text.
  const auto gptzero = backends_->requests_to(kGptzeroPath);
  ASSERT_EQ(gptzero.size(), 1u);
  EXPECT_EQ(json_string(gptzero[0].body, "/document"), kLongText);
  EXPECT_EQ(gptzero[0].header("x-api-key").value_or(""), "key-gptzero");
  EXPECT_EQ(json_string(backends_->requests_to(kZerogptPath).at(0).body, "/input_text"), kLongText);
  EXPECT_EQ(json_string(backends_->requests_to(kSaplingPath).at(0).body, "/key"), "key-sapling");
  EXPECT_EQ(backends_->requests_to(kCopyleaksCheckPath).at(0).header("Authorization").value_or(""),
            "Bearer copyleaks-token");
  EXPECT_EQ(json_string(backends_->requests_to(kWriterPath).at(0).body, "/input"), kLongText);
  EXPECT_EQ(backends_->requests_to(kOriginalityPath).at(0).header("X-OAI-API-KEY").value_or(""),
            "key-originality");
  EXPECT_EQ(backends_->requests_to(kTurnitinPath).at(0).header("Authorization").value_or(""),
            "Bearer t-turnitin");
  EXPECT_EQ(json_string(backends_->requests_to(kInternalPath).at(0).body, "/text"), kLongText);
  expect_ledger_verified();
}

TEST_F(DetectTest, FailedDetectorsAreExcludedAndVerdictsFollowTheThresholds) {
  backends_->on(kZerogptPath, [](const RecordedRequest&) {
    return FakeResponse::json(200, R"({"success":false,"message":"quota exceeded"})");
  });
  backends_->on(kWriterPath, server_error);
  backends_->on(kOriginalityPath,
                [](const RecordedRequest&) { return FakeResponse::json(200, "not json"); });
  backends_->on(kGptzeroPath, [](const RecordedRequest&) { return fakes::gptzero_answer(0.9); });
  backends_->on(kSaplingPath, [](const RecordedRequest&) { return fakes::sapling_answer(0.8); });
  backends_->on(kCopyleaksCheckPath,
                [](const RecordedRequest&) { return fakes::copyleaks_answer(0.7); });
  backends_->on(kTurnitinPath, [](const RecordedRequest&) {
    return FakeResponse::json(200, R"({"ai_score":60})");
  });
  backends_->on(kCrossplagPath, [](const RecordedRequest&) {
    return FakeResponse::json(200, R"({"result":{"ai_probability":0.5}})");
  });
  backends_->on(kContentAtScalePath, [](const RecordedRequest&) {
    return FakeResponse::json(200, R"({"human_probability":60})");
  });
  const std::string account = new_account();
  TestResponse response = detect(account, text_body(kLongText));
  ASSERT_EQ(response.status, 200) << response.body;
  rapidjson::Document body = parse(response.body);
  // (90 + 80 + 70 + 60 + 50 + 40 + 18.2) / 7 = 58.31 -> 58.3: between 35 and 65.
  EXPECT_DOUBLE_EQ(body["overall_score"].GetDouble(), 58.3);
  EXPECT_EQ(std::string(body["verdict"].GetString()), "mixed");
  for (const char* failed : {"zerogpt", "writer", "originality"}) {
    EXPECT_EQ(status_of(body, failed), "error") << failed;
    EXPECT_TRUE(detector(body, failed)["score"].IsNull()) << failed;
  }
  EXPECT_EQ(body["credits_used"].GetInt64(), kDetectBaseCredits);

  // Everything at 90 with the internal service at 90: likely_ai.
  backends_->reset();
  backends_->on(kInternalPath,
                [](const RecordedRequest&) { return FakeResponse::json(200, R"({"score":90})"); });
  backends_->on(kGptzeroPath, [](const RecordedRequest&) { return fakes::gptzero_answer(0.9); });
  backends_->on(kZerogptPath, [](const RecordedRequest&) { return fakes::zerogpt_answer(90); });
  backends_->on(kSaplingPath, [](const RecordedRequest&) { return fakes::sapling_answer(0.9); });
  backends_->on(kCopyleaksCheckPath,
                [](const RecordedRequest&) { return fakes::copyleaks_answer(0.9); });
  backends_->on(kWriterPath,
                [](const RecordedRequest&) { return fakes::writer_answer("real", 0.1); });
  backends_->on(kOriginalityPath,
                [](const RecordedRequest&) { return fakes::originality_answer(0.9); });
  backends_->on(kTurnitinPath, [](const RecordedRequest&) {
    return FakeResponse::json(200, R"({"ai_score":90})");
  });
  backends_->on(kCrossplagPath, [](const RecordedRequest&) {
    return FakeResponse::json(200, R"({"result":{"ai_probability":0.9}})");
  });
  backends_->on(kContentAtScalePath, [](const RecordedRequest&) {
    return FakeResponse::json(200, R"({"human_probability":10})");
  });
  response = detect(account, text_body(kLongText));
  ASSERT_EQ(response.status, 200) << response.body;
  body = parse(response.body);
  EXPECT_DOUBLE_EQ(body["overall_score"].GetDouble(), 90.0);
  EXPECT_EQ(std::string(body["verdict"].GetString()), "likely_ai");
  EXPECT_EQ(balance(account)->credits_available, kFreeCredits - 2 * kDetectBaseCredits);
}

TEST_F(DetectTest, ADetectorPastItsOwnTimeoutIsTimeoutWhileTheOthersSucceed) {
  // Sapling's timeout is 800 ms; it answers after 2 s. The others answer within 500 ms.
  backends_->on(kSaplingPath,
                [](const RecordedRequest&) { return fakes::sapling_answer(0.99, 2'000); });
  backends_->on(kGptzeroPath,
                [](const RecordedRequest&) { return fakes::gptzero_answer(0.25, 500); });
  const std::string account = new_account();
  const Clock::time_point started = Clock::now();
  const TestResponse response = detect(account, text_body(kLongText));
  const int64_t elapsed_ms = ms_since(started);
  ASSERT_EQ(response.status, 200) << response.body;
  const rapidjson::Document body = parse(response.body);
  EXPECT_EQ(status_of(body, "sapling"), "timeout");
  EXPECT_TRUE(detector(body, "sapling")["score"].IsNull());
  EXPECT_GE(detector(body, "sapling")["latency_ms"].GetInt64(), kSaplingTimeoutMs - 50);
  for (const std::string& name : kDetectorNames) {
    if (name != "sapling") {
      EXPECT_EQ(status_of(body, name), "success") << name;
    }
  }
  // The seed scores without sapling's: (222.2 - 15) / 9 = 23.02 -> 23.0.
  EXPECT_DOUBLE_EQ(body["overall_score"].GetDouble(), 23.0);
  // Done when sapling timed out: neither its 2 s answer nor the overall deadline.
  EXPECT_GE(elapsed_ms, kSaplingTimeoutMs - 50);
  EXPECT_LT(elapsed_ms, kOverallTimeoutMs);
  EXPECT_EQ(balance(account)->credits_spent, kDetectBaseCredits);
}

TEST_F(DetectTest, TheOverallDeadlineBoundsTheRequest) {
  // GPTZero's own timeout (5 s) is longer than the overall deadline (1.5 s); it sleeps 4 s.
  backends_->on(kGptzeroPath,
                [](const RecordedRequest&) { return fakes::gptzero_answer(0.99, 4'000); });
  const std::string account = new_account();
  const Clock::time_point started = Clock::now();
  const TestResponse response = detect(account, text_body(kLongText));
  const int64_t elapsed_ms = ms_since(started);
  ASSERT_EQ(response.status, 200) << response.body;
  const rapidjson::Document body = parse(response.body);
  EXPECT_EQ(status_of(body, "gptzero"), "timeout");
  EXPECT_EQ(status_of(body, "zerogpt"), "success");
  EXPECT_GE(elapsed_ms, kOverallTimeoutMs - 100);
  EXPECT_LT(elapsed_ms, kOverallTimeoutMs + 700);
  EXPECT_LE(body["processing_time_ms"].GetInt64(), elapsed_ms);
  std::printf("[ measured ] detect with one detector past the %lld ms deadline: %lld ms\n",
              static_cast<long long>(kOverallTimeoutMs), static_cast<long long>(elapsed_ms));
}

TEST_F(DetectTest, NineDetectorsOf50To500MsTakeTheSlowestNotTheSum) {
  // Latencies 50, 106, ..., 498 ms (sum 2.5 s); the internal service takes 300 ms.
  for (std::size_t i = 0; i < kDetectorPaths.size(); ++i) {
    const int64_t delay_ms = 50 + static_cast<int64_t>(i) * 56;
    const std::string path = kDetectorPaths[i];
    backends_->on(path, [this_path = path, delay_ms](const RecordedRequest&) {
      FakeResponse answer = FakeResponse::json(200, "{}");
      if (this_path == kGptzeroPath) answer = fakes::gptzero_answer(0.25);
      if (this_path == kZerogptPath) answer = fakes::zerogpt_answer(30);
      if (this_path == kSaplingPath) answer = fakes::sapling_answer(0.15);
      if (this_path == kCopyleaksCheckPath) answer = fakes::copyleaks_answer(0.2);
      if (this_path == kWriterPath) answer = fakes::writer_answer("fake", 0.22);
      if (this_path == kOriginalityPath) answer = fakes::originality_answer(0.19);
      if (this_path == kTurnitinPath) answer.body = R"({"ai_score":28})";
      if (this_path == kCrossplagPath) answer.body = R"({"result":{"ai_probability":0.24}})";
      if (this_path == kContentAtScalePath) answer.body = R"({"human_probability":79})";
      answer.delay_ms = delay_ms;
      return answer;
    });
  }
  backends_->on(kInternalPath, [](const RecordedRequest&) {
    return FakeResponse::json(200, R"({"score":18.2})", 300);
  });
  const std::string account = new_account();
  std::vector<int64_t> elapsed;
  std::vector<int64_t> processing;
  for (int i = 0; i < 5; ++i) {
    const Clock::time_point started = Clock::now();
    const TestResponse response = detect(account, text_body(kLongText));
    elapsed.push_back(ms_since(started));
    ASSERT_EQ(response.status, 200) << response.body;
    const rapidjson::Document body = parse(response.body);
    processing.push_back(body["processing_time_ms"].GetInt64());
    EXPECT_DOUBLE_EQ(body["overall_score"].GetDouble(), 22.2);
    EXPECT_GE(detector(body, "contentatscale")["latency_ms"].GetInt64(), 490);
  }
  std::sort(elapsed.begin(), elapsed.end());
  std::sort(processing.begin(), processing.end());
  std::printf(
      "[ measured ] detect, 9 fake detectors of 50-498 ms + internal 300 ms, 5 requests: "
      "client min %lld / median %lld / max %lld ms; processing_time_ms median %lld\n",
      static_cast<long long>(elapsed.front()), static_cast<long long>(elapsed[2]),
      static_cast<long long>(elapsed.back()), static_cast<long long>(processing[2]));
  EXPECT_GE(elapsed.front(), 490);   // The slowest detector...
  EXPECT_LT(elapsed.back(), 1'200);  // ...not the 2.5 s sum.
  EXPECT_EQ(balance(account)->credits_spent, 5 * kDetectBaseCredits);
}

TEST_F(DetectTest, SelectedDetectorsOnly) {
  const std::string account = new_account();
  TestResponse response =
      detect(account, text_body(kLongText, R"(,"detectors":["sapling","gptzero","sapling"])"));
  ASSERT_EQ(response.status, 200) << response.body;
  rapidjson::Document body = parse(response.body);
  EXPECT_EQ(body["detectors"].MemberCount(), 2u);
  EXPECT_EQ(status_of(body, "gptzero"), "success");
  EXPECT_EQ(status_of(body, "sapling"), "success");
  EXPECT_DOUBLE_EQ(body["overall_score"].GetDouble(), 19.4);  // (25 + 15 + 18.2) / 3
  EXPECT_TRUE(backends_->requests_to(kZerogptPath).empty());
  EXPECT_TRUE(backends_->requests_to(kTurnitinPath).empty());

  // An empty selection asks the internal detector only.
  response = detect(account, text_body(kLongText, R"(,"detectors":[])"));
  ASSERT_EQ(response.status, 200) << response.body;
  body = parse(response.body);
  EXPECT_EQ(body["detectors"].MemberCount(), 0u);
  EXPECT_DOUBLE_EQ(body["overall_score"].GetDouble(), 18.2);
  EXPECT_EQ(std::string(body["verdict"].GetString()), "likely_human");
  EXPECT_EQ(balance(account)->credits_spent, 2 * kDetectBaseCredits);
}

TEST_F(DetectTest, TextsOutsideAProvidersLimitsAreSkippedWithAReason) {
  const std::string account = new_account();
  const std::string text = prose(30);  // ~190 characters: below copyleaks' 255 and writer's 350.
  const TestResponse response = detect(account, text_body(text));
  ASSERT_EQ(response.status, 200) << response.body;
  const rapidjson::Document body = parse(response.body);
  for (const char* skipped : {"copyleaks", "writer"}) {
    const rapidjson::Value& entry = detector(body, skipped);
    EXPECT_EQ(std::string(entry["status"].GetString()), "skipped") << skipped;
    EXPECT_TRUE(entry["score"].IsNull());
    EXPECT_EQ(entry["latency_ms"].GetInt64(), 0);
    ASSERT_TRUE(entry.HasMember("reason")) << skipped;
    EXPECT_FALSE(std::string(entry["reason"].GetString()).empty());
  }
  // Excluded from the average: (25 + 30 + 15 + 19 + 28 + 24 + 21 + 18.2) / 8 = 22.525.
  EXPECT_DOUBLE_EQ(body["overall_score"].GetDouble(), 22.5);
  EXPECT_TRUE(backends_->requests_to(kWriterPath).empty());
  EXPECT_TRUE(backends_->requests_to(kCopyleaksCheckPath).empty());
}

TEST_F(DetectTest, NothingSucceededIs503AndChargesNothing) {
  backends_->on(kInternalPath, server_error);
  for (const std::string& path : kDetectorPaths) backends_->on(path, server_error);
  const std::string account = new_account();
  const TestResponse response = detect(account, text_body(kLongText));
  ASSERT_EQ(response.status, 503) << response.body;
  EXPECT_EQ(response.body, R"({"error":"service_unavailable","retry_after":30})");
  EXPECT_EQ(response.header("retry-after"), "30");
  const auto after = balance(account);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->credits_available, kFreeCredits);
  EXPECT_EQ(after->credits_reserved, 0);
  EXPECT_EQ(after->credits_spent, 0);
  EXPECT_EQ(open_reservations(account), 0);
}

TEST_F(DetectTest, AFailedInternalServiceIsExcludedWhenAnExternalDetectorAnswers) {
  backends_->on(kInternalPath, server_error);
  const std::string account = new_account();
  const TestResponse response =
      detect(account, text_body(kLongText, R"(,"detectors":["turnitin"])"));
  ASSERT_EQ(response.status, 200) << response.body;
  const rapidjson::Document body = parse(response.body);
  EXPECT_TRUE(body["internal_score"].IsNull());
  EXPECT_DOUBLE_EQ(body["overall_score"].GetDouble(), 28.0);
  EXPECT_EQ(body["credits_used"].GetInt64(), kDetectBaseCredits);
  EXPECT_EQ(balance(account)->credits_spent, kDetectBaseCredits);
}

TEST_F(DetectTest, InvalidRequestsAre400AndCostNothing) {
  const std::string account = new_account();
  TestResponse response =
      detect(account, text_body(kLongText, R"(,"detectors":["gptzero","nope"])"));
  ASSERT_EQ(response.status, 400) << response.body;
  rapidjson::Document body = parse(response.body);
  EXPECT_EQ(std::string(body["error"].GetString()), "invalid_request");
  EXPECT_EQ(std::string(body["field"].GetString()), "detectors");
  ASSERT_TRUE(body["allowed"].IsArray());
  EXPECT_EQ(body["allowed"].Size(), 9u);
  ASSERT_TRUE(body["unknown"].IsArray());
  EXPECT_EQ(std::string(body["unknown"][0].GetString()), "nope");

  for (const char* bad : {R"(,"detectors":"gptzero")", R"(,"detectors":[1])",
                          R"(,"detectors":[""])", R"(,"detectors":{"a":1})"}) {
    response = detect(account, text_body(kLongText, bad));
    EXPECT_EQ(response.status, 400) << bad;
    EXPECT_EQ(error_code(response), "invalid_request") << bad;
  }
  response = detect(account, text_body(prose(9)));
  EXPECT_EQ(response.body, R"({"error":"text_too_short","min_words":10})");
  response = detect(account, text_body(prose(10001)));
  EXPECT_EQ(response.body, R"({"error":"text_too_long","max_words":10000})");
  response = detect(account, R"({"text":"x","mode":"standard"})");
  EXPECT_EQ(error_code(response), "invalid_request");
  EXPECT_EQ(event_count(account), 0);

  // 10,000 words: 20 chunks x 50 credits = 1000 > 300, refused before any detector call.
  response = detect(account, text_body(prose(10000)));
  EXPECT_EQ(response.status, 402);
  EXPECT_EQ(response.body,
            R"({"error":"insufficient_credits","credits_needed":1000,"credits_available":300})");
  EXPECT_EQ(backends_->request_count(), 0u);
}

}  // namespace
}  // namespace content_http_tests
