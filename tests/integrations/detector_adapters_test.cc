// Each provider adapter over real HTTP against a loopback fake speaking that provider's
// format: the request we send (path, auth, body) and the parsing of success and error
// answers (HTTP errors with provider JSON, bad JSON, failure flags, missing fields,
// out-of-range scores, length limits).
#include "integrations/detector_adapters.h"

#include <gtest/gtest.h>

#include <regex>

#include "integrations/detectors.h"
#include "tests/integrations/detector_fakes.h"

namespace {

using integrations::DetectorConfig;
using integrations::DetectorFanout;
using integrations::DetectorKind;
using integrations::DetectorResult;
using integrations::DetectorStatus;
using integrations_testing::config_of;
using integrations_testing::json_bool_at;
using integrations_testing::json_string_at;
using integrations_testing::kLongText;
using integrations_testing::kShortText;
using integrations_testing::provider;
using testing_support::FakeHttpServer;
using testing_support::FakeResponse;
using testing_support::RecordedRequest;

// Runs one detector against the fake and returns its result.
DetectorResult run_one(const DetectorConfig& detector, const std::string& text = kLongText) {
  DetectorFanout fanout(config_of({detector}));
  const auto results = fanout.run_detectors(text, std::nullopt);
  EXPECT_EQ(results.size(), 1u);
  return results.empty() ? DetectorResult{} : results[0];
}

// A fake that answers every request with `response`.
struct Fake {
  explicit Fake(FakeResponse response)
      : server([response](const RecordedRequest&) { return response; }) {}
  FakeHttpServer server;
};

void expect_error(const DetectorResult& result, const std::string& reason_part) {
  EXPECT_EQ(result.status, DetectorStatus::kError);
  EXPECT_NE(result.reason.find(reason_part), std::string::npos) << result.reason;
}

// --- gptzero --------------------------------------------------------------------

TEST(GptzeroAdapter, SendsDocumentWithApiKeyAndReadsClassProbability) {
  Fake fake(integrations_testing::gptzero_answer(0.834));
  const DetectorResult result =
      run_one(provider(DetectorKind::kGptzero, "gptzero", fake.server.url()));
  EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.reason;
  EXPECT_DOUBLE_EQ(result.score, 83.4);
  EXPECT_GE(result.latency_ms, 0);
  const auto requests = fake.server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/v2/predict/text");
  EXPECT_EQ(requests[0].header("x-api-key").value_or(""), "key-gptzero");
  EXPECT_EQ(json_string_at(requests[0].body, "/document"), kLongText);
}

TEST(GptzeroAdapter, FallsBackToCompletelyGeneratedProb) {
  Fake fake(FakeResponse::json(200, R"({"documents":[{"completely_generated_prob":0.25}]})"));
  const DetectorResult result =
      run_one(provider(DetectorKind::kGptzero, "gptzero", fake.server.url()));
  EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.reason;
  EXPECT_DOUBLE_EQ(result.score, 25.0);
}

TEST(GptzeroAdapter, ErrorShapes) {
  {
    Fake fake(FakeResponse::json(401, R"({"error":"Invalid API key"})"));
    expect_error(run_one(provider(DetectorKind::kGptzero, "gptzero", fake.server.url())),
                 "HTTP 401: Invalid API key");
  }
  {
    Fake fake(FakeResponse::json(200, R"({"documents":[{"class_probabilities":)"));
    expect_error(run_one(provider(DetectorKind::kGptzero, "gptzero", fake.server.url())),
                 "invalid JSON");
  }
  {
    Fake fake(FakeResponse::json(200, R"({"documents":[]})"));
    expect_error(run_one(provider(DetectorKind::kGptzero, "gptzero", fake.server.url())),
                 "missing");
  }
  {
    Fake fake(FakeResponse::json(200, R"({"documents":[{"class_probabilities":{"ai":1.7}}]})"));
    expect_error(run_one(provider(DetectorKind::kGptzero, "gptzero", fake.server.url())),
                 "outside 0..1");
  }
  {
    Fake fake(FakeResponse::json(200, R"({"documents":[{"class_probabilities":{"ai":"high"}}]})"));
    expect_error(run_one(provider(DetectorKind::kGptzero, "gptzero", fake.server.url())),
                 "missing");
  }
}

// --- zerogpt --------------------------------------------------------------------

TEST(ZerogptAdapter, SendsInputTextWithApiKeyHeaderAndReadsFakePercentage) {
  Fake fake(integrations_testing::zerogpt_answer(42.5));
  const DetectorResult result =
      run_one(provider(DetectorKind::kZerogpt, "zerogpt", fake.server.url()));
  EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.reason;
  EXPECT_DOUBLE_EQ(result.score, 42.5);
  const auto requests = fake.server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/api/detect/detectText");
  EXPECT_EQ(requests[0].header("ApiKey").value_or(""), "key-zerogpt");
  EXPECT_EQ(json_string_at(requests[0].body, "/input_text"), kLongText);
}

TEST(ZerogptAdapter, SuccessFalseWithHttp200IsAnError) {
  Fake fake(FakeResponse::json(
      200, R"({"success":false,"code":403,"message":"Invalid API Key","data":null})"));
  expect_error(run_one(provider(DetectorKind::kZerogpt, "zerogpt", fake.server.url())),
               "success=false: Invalid API Key");
}

TEST(ZerogptAdapter, ErrorShapes) {
  {
    Fake fake(FakeResponse::json(200, R"({"success":true,"data":{"fakePercentage":150}})"));
    expect_error(run_one(provider(DetectorKind::kZerogpt, "zerogpt", fake.server.url())),
                 "outside 0..100");
  }
  {
    Fake fake(FakeResponse::json(200, R"({"success":true,"data":{}})"));
    expect_error(run_one(provider(DetectorKind::kZerogpt, "zerogpt", fake.server.url())),
                 "missing field /data/fakePercentage");
  }
  {
    Fake fake(FakeResponse::json(500, "upstream exploded"));
    expect_error(run_one(provider(DetectorKind::kZerogpt, "zerogpt", fake.server.url())),
                 "HTTP 500: upstream exploded");
  }
}

// --- sapling --------------------------------------------------------------------

TEST(SaplingAdapter, SendsKeyInBodyAndReadsScore) {
  Fake fake(integrations_testing::sapling_answer(0.123));
  const DetectorResult result =
      run_one(provider(DetectorKind::kSapling, "sapling", fake.server.url()));
  EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.reason;
  EXPECT_DOUBLE_EQ(result.score, 12.3);
  const auto requests = fake.server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/api/v1/aidetect");
  EXPECT_EQ(json_string_at(requests[0].body, "/key"), "key-sapling");
  EXPECT_EQ(json_string_at(requests[0].body, "/text"), kLongText);
}

TEST(SaplingAdapter, ErrorShapes) {
  {
    Fake fake(FakeResponse::json(401, R"({"msg":"Invalid API key"})"));
    expect_error(run_one(provider(DetectorKind::kSapling, "sapling", fake.server.url())),
                 "HTTP 401: Invalid API key");
  }
  {
    Fake fake(FakeResponse::json(200, R"({"score":-0.1})"));
    expect_error(run_one(provider(DetectorKind::kSapling, "sapling", fake.server.url())),
                 "outside");
  }
  {
    Fake fake(FakeResponse::json(200, "<html>not json</html>", 0));
    expect_error(run_one(provider(DetectorKind::kSapling, "sapling", fake.server.url())),
                 "invalid JSON");
  }
}

// --- copyleaks ------------------------------------------------------------------

FakeResponse copyleaks_server(const RecordedRequest& request, double ai) {
  if (request.path == "/v3/account/login/api")
    return integrations_testing::copyleaks_login_answer("tok-1");
  return integrations_testing::copyleaks_answer(ai);
}

TEST(CopyleaksAdapter, LogsInThenChecksWithBearerTokenAndFreshScanId) {
  FakeHttpServer server(
      [](const RecordedRequest& request) { return copyleaks_server(request, 0.9); });
  DetectorConfig detector = provider(DetectorKind::kCopyleaks, "copyleaks", server.url());
  detector.sandbox = true;
  DetectorFanout fanout(config_of({detector}));
  for (int i = 0; i < 2; ++i) {
    const auto results = fanout.run_detectors(kLongText, std::nullopt);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].status, DetectorStatus::kSuccess) << results[0].reason;
    EXPECT_DOUBLE_EQ(results[0].score, 90.0);
  }
  const auto logins = server.requests_to("/v3/account/login/api");
  ASSERT_EQ(logins.size(), 1u);
  EXPECT_EQ(json_string_at(logins[0].body, "/email"), "copyleaks@example.com");
  EXPECT_EQ(json_string_at(logins[0].body, "/key"), "key-copyleaks");

  std::vector<std::string> scan_paths;
  const std::regex check_path("/v2/writer-detector/[0-9a-f-]{36}/check");
  for (const auto& request : server.requests()) {
    if (request.path == "/v3/account/login/api") continue;
    EXPECT_TRUE(std::regex_match(request.path, check_path)) << request.path;
    EXPECT_EQ(request.header("Authorization").value_or(""), "Bearer tok-1");
    EXPECT_EQ(json_string_at(request.body, "/text"), kLongText);
    EXPECT_TRUE(json_bool_at(request.body, "/sandbox", false));
    scan_paths.push_back(request.path);
  }
  ASSERT_EQ(scan_paths.size(), 2u);
  EXPECT_NE(scan_paths[0], scan_paths[1]);
}

TEST(CopyleaksAdapter, TextOutsideLengthLimitsIsSkippedWithoutRequests) {
  FakeHttpServer server(
      [](const RecordedRequest& request) { return copyleaks_server(request, 0.5); });
  const DetectorConfig detector = provider(DetectorKind::kCopyleaks, "copyleaks", server.url());
  const DetectorResult too_short = run_one(detector, kShortText);
  EXPECT_EQ(too_short.status, DetectorStatus::kSkipped);
  EXPECT_NE(too_short.reason.find("255..25000"), std::string::npos) << too_short.reason;
  const DetectorResult too_long = run_one(detector, std::string(25'001, 'a'));
  EXPECT_EQ(too_long.status, DetectorStatus::kSkipped);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(CopyleaksAdapter, ErrorShapes) {
  {
    FakeHttpServer server([](const RecordedRequest& request) {
      if (request.path == "/v3/account/login/api")
        return integrations_testing::copyleaks_login_answer("t");
      return FakeResponse::json(200, R"({"summary":{"human":1.0}})");
    });
    expect_error(run_one(provider(DetectorKind::kCopyleaks, "copyleaks", server.url())),
                 "missing field /summary/ai");
  }
  {
    FakeHttpServer server([](const RecordedRequest&) {
      return FakeResponse::json(400, R"({"message":"Invalid email or key"})");
    });
    expect_error(run_one(provider(DetectorKind::kCopyleaks, "copyleaks", server.url())),
                 "login failed: HTTP 400: Invalid email or key");
  }
}

// --- writer ---------------------------------------------------------------------

TEST(WriterAdapter, FakeLabelIsTheAiScoreAndRealIsItsComplement) {
  {
    Fake fake(integrations_testing::writer_answer("fake", 0.8));
    const DetectorResult result =
        run_one(provider(DetectorKind::kWriter, "writer", fake.server.url()));
    EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.reason;
    EXPECT_DOUBLE_EQ(result.score, 80.0);
    const auto requests = fake.server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].path, "/v1/tools/ai-detect");
    EXPECT_EQ(requests[0].header("Authorization").value_or(""), "Bearer key-writer");
    EXPECT_EQ(json_string_at(requests[0].body, "/input"), kLongText);
  }
  {
    Fake fake(integrations_testing::writer_answer("real", 0.8));
    const DetectorResult result =
        run_one(provider(DetectorKind::kWriter, "writer", fake.server.url()));
    EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.reason;
    EXPECT_DOUBLE_EQ(result.score, 20.0);
  }
}

TEST(WriterAdapter, ErrorShapesAndMinimumLength) {
  {
    Fake fake(integrations_testing::writer_answer("maybe", 0.5));
    expect_error(run_one(provider(DetectorKind::kWriter, "writer", fake.server.url())),
                 "neither fake nor real");
  }
  {
    Fake fake(FakeResponse::json(
        401, R"({"errors":[{"description":"Unauthorized"}],"tpe":"unauthorized"})"));
    expect_error(run_one(provider(DetectorKind::kWriter, "writer", fake.server.url())), "HTTP 401");
  }
  Fake fake(integrations_testing::writer_answer("fake", 0.5));
  const DetectorResult skipped =
      run_one(provider(DetectorKind::kWriter, "writer", fake.server.url()), kShortText);
  EXPECT_EQ(skipped.status, DetectorStatus::kSkipped);
  EXPECT_NE(skipped.reason.find("350"), std::string::npos);
  EXPECT_EQ(fake.server.request_count(), 0u);
}

// --- originality ----------------------------------------------------------------

TEST(OriginalityAdapter, SendsContentWithKeyHeaderAndReadsScoreAi) {
  Fake fake(integrations_testing::originality_answer(0.33));
  const DetectorResult result =
      run_one(provider(DetectorKind::kOriginality, "originality", fake.server.url()));
  EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.reason;
  EXPECT_DOUBLE_EQ(result.score, 33.0);
  const auto requests = fake.server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/api/v1/scan/ai");
  EXPECT_EQ(requests[0].header("X-OAI-API-KEY").value_or(""), "key-originality");
  EXPECT_EQ(json_string_at(requests[0].body, "/content"), kLongText);
}

TEST(OriginalityAdapter, ErrorShapes) {
  {
    Fake fake(FakeResponse::json(403, R"({"error":"Not enough credits"})"));
    expect_error(run_one(provider(DetectorKind::kOriginality, "originality", fake.server.url())),
                 "HTTP 403: Not enough credits");
  }
  {
    Fake fake(FakeResponse::json(200, R"({"success":true,"score":{"original":1.0}})"));
    expect_error(run_one(provider(DetectorKind::kOriginality, "originality", fake.server.url())),
                 "missing field /score/ai");
  }
}

// --- generic --------------------------------------------------------------------

TEST(GenericAdapter, PostsTextFieldWithAuthHeaderAndReadsPointer) {
  Fake fake(FakeResponse::json(200, R"({"result":{"scores":[{"ai_probability":0.615}]}})"));
  DetectorConfig detector = integrations_testing::generic(
      "crossplag", fake.server.url() + "/api/v2/detect", "/result/scores/0/ai_probability", 1);
  detector.auth_header = "X-Token";
  detector.auth_value = "secret";
  detector.text_field = "content";
  const DetectorResult result = run_one(detector);
  EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.reason;
  EXPECT_DOUBLE_EQ(result.score, 61.5);
  const auto requests = fake.server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/api/v2/detect");
  EXPECT_EQ(requests[0].header("X-Token").value_or(""), "secret");
  EXPECT_EQ(json_string_at(requests[0].body, "/content"), kLongText);
}

TEST(GenericAdapter, Scale100AndInvert) {
  Fake fake(FakeResponse::json(200, R"({"human_score":72})"));
  const DetectorResult result = run_one(integrations_testing::generic(
      "humanity", fake.server.url() + "/score", "/human_score", 100, true));
  EXPECT_EQ(result.status, DetectorStatus::kSuccess) << result.reason;
  EXPECT_DOUBLE_EQ(result.score, 28.0);
}

TEST(GenericAdapter, ErrorShapes) {
  {
    Fake fake(FakeResponse::json(200, R"({"ai_score":101})"));
    expect_error(run_one(integrations_testing::generic("g", fake.server.url() + "/s", "/ai_score")),
                 "outside 0..100");
  }
  {
    Fake fake(FakeResponse::json(200, R"({"ai_score":1.5})"));
    expect_error(
        run_one(integrations_testing::generic("g", fake.server.url() + "/s", "/ai_score", 1)),
        "outside 0..1");
  }
  {
    Fake fake(FakeResponse::json(200, R"({"other":1})"));
    expect_error(run_one(integrations_testing::generic("g", fake.server.url() + "/s", "/ai_score")),
                 "missing field /ai_score");
  }
  {
    Fake fake(FakeResponse::json(503, R"({"detail":"overloaded"})"));
    expect_error(run_one(integrations_testing::generic("g", fake.server.url() + "/s", "/ai_score")),
                 "HTTP 503: overloaded");
  }
}

// --- pure parsing (no network) ----------------------------------------------------

TEST(ParseDetectorResponse, RejectsNon2xxEvenWithAScore) {
  const DetectorConfig detector = provider(DetectorKind::kSapling, "sapling", "http://unused");
  integrations::HttpResponse response;
  response.status = 429;
  response.body = R"({"score":0.5,"msg":"Too many requests"})";
  const auto parsed = integrations::parse_detector_response(detector, response);
  EXPECT_FALSE(parsed.score.has_value());
  EXPECT_EQ(parsed.error, "HTTP 429: Too many requests");
}

TEST(BuildDetectorRequest, UsesProductionHostsWithoutBaseUrl) {
  DetectorConfig detector = provider(DetectorKind::kGptzero, "gptzero", "");
  EXPECT_EQ(integrations::build_detector_request(detector, kLongText, 1'000, "").request->url,
            "https://api.gptzero.me/v2/predict/text");
  detector.kind = DetectorKind::kOriginality;
  EXPECT_EQ(integrations::build_detector_request(detector, kLongText, 1'000, "").request->url,
            "https://api.originality.ai/api/v1/scan/ai");
  detector.base_url = "http://127.0.0.1:9/";
  EXPECT_EQ(integrations::build_detector_request(detector, kLongText, 1'000, "").request->url,
            "http://127.0.0.1:9/api/v1/scan/ai");
}

}  // namespace
