// Tests for integrations/http_client.h over loopback: statuses, headers, failures,
// timeouts, body limits, and perform_all's parallelism, in-flight bound and deadline.
#include "integrations/http_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "tests/integrations/detector_fakes.h"
#include "tests/support/fake_http_server.h"

namespace {

using integrations::HttpRequest;
using integrations::HttpResponse;
using testing_support::FakeHttpServer;
using testing_support::FakeResponse;
using testing_support::RecordedRequest;

using integrations_testing::Clock;
using integrations_testing::ms_since;

HttpRequest request_to(const std::string& url, long timeout_ms = 5'000) {
  HttpRequest request;
  request.url = url;
  request.body = "{}";
  request.headers = {{"Content-Type", "application/json"}};
  request.timeout_ms = timeout_ms;
  return request;
}

// Answers after the number of milliseconds given as the path ("/250").
FakeResponse delay_from_path(const RecordedRequest& request) {
  return FakeResponse::json(200, "{\"path\":\"" + request.path + "\"}",
                            std::stoll(request.path.substr(1)));
}

TEST(HttpClient, GetAndPostWithHeaders) {
  FakeHttpServer server([](const RecordedRequest& request) {
    return FakeResponse::json(request.method == "GET" ? 200 : 202,
                              request.method + ":" + request.body);
  });
  HttpRequest get = request_to(server.url() + "/resource");
  get.method = "GET";
  get.headers.emplace_back("Authorization", "Bearer abc");
  const HttpResponse got = integrations::perform(get);
  ASSERT_TRUE(got.ok()) << got.error;
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "GET:");

  const HttpResponse posted = integrations::perform(request_to(server.url() + "/resource"));
  EXPECT_EQ(posted.status, 202);
  EXPECT_EQ(posted.body, "POST:{}");
  EXPECT_GE(posted.latency_ms, 0);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].header("Authorization").value_or(""), "Bearer abc");
  EXPECT_FALSE(requests[1].header("Expect").has_value());
}

TEST(HttpClient, HttpErrorStatusesAreResponsesNotFailures) {
  FakeHttpServer server(
      [](const RecordedRequest&) { return FakeResponse::json(404, "{\"error\":\"nope\"}"); });
  const HttpResponse response = integrations::perform(request_to(server.url() + "/missing"));
  EXPECT_TRUE(response.ok());
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, "{\"error\":\"nope\"}");
}

TEST(HttpClient, ConnectionRefusedIsConnectFailure) {
  std::string url;
  {
    FakeHttpServer server([](const RecordedRequest&) { return FakeResponse::json(200, "{}"); });
    url = server.url();
  }  // The port is closed now.
  const HttpResponse response = integrations::perform(request_to(url + "/x"));
  EXPECT_EQ(response.failure, HttpResponse::Failure::kConnect);
  EXPECT_EQ(response.status, 0);
  EXPECT_FALSE(response.error.empty());
}

TEST(HttpClient, SlowServerIsTimeout) {
  FakeHttpServer server(delay_from_path);
  const auto started = Clock::now();
  const HttpResponse response = integrations::perform(request_to(server.url() + "/3000", 200));
  EXPECT_EQ(response.failure, HttpResponse::Failure::kTimeout);
  EXPECT_LT(ms_since(started), 1'500);
  EXPECT_GE(response.latency_ms, 150);
}

TEST(HttpClient, OversizedBodyIsRejected) {
  FakeHttpServer server([](const RecordedRequest&) {
    return FakeResponse::json(200, std::string(integrations::kResponseBodyBytesMax + 1, 'x'));
  });
  const HttpResponse response = integrations::perform(request_to(server.url() + "/huge"));
  EXPECT_EQ(response.failure, HttpResponse::Failure::kOther);
  EXPECT_NE(response.error.find("exceeds"), std::string::npos) << response.error;
  EXPECT_TRUE(response.body.empty());
}

TEST(HttpClient, InvalidRequestsFailWithoutNetwork) {
  HttpRequest bad_url = request_to("ftp://example.com/");
  EXPECT_EQ(integrations::perform(bad_url).failure, HttpResponse::Failure::kOther);
  HttpRequest bad_method = request_to("http://127.0.0.1:1/");
  bad_method.method = "BREW";
  EXPECT_EQ(integrations::perform(bad_method).failure, HttpResponse::Failure::kOther);
  HttpRequest bad_timeout = request_to("http://127.0.0.1:1/", 0);
  EXPECT_EQ(integrations::perform(bad_timeout).failure, HttpResponse::Failure::kOther);
}

TEST(PerformAll, RunsRequestsInParallelAndKeepsOrder) {
  FakeHttpServer server(delay_from_path);
  const std::vector<HttpRequest> requests = {request_to(server.url() + "/400"),
                                             request_to(server.url() + "/100"),
                                             request_to(server.url() + "/300")};
  const auto started = Clock::now();
  const auto responses = integrations::perform_all(requests, 5'000);
  const int64_t elapsed_ms = ms_since(started);
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[0].body, "{\"path\":\"/400\"}");
  EXPECT_EQ(responses[1].body, "{\"path\":\"/100\"}");
  EXPECT_EQ(responses[2].body, "{\"path\":\"/300\"}");
  EXPECT_GE(elapsed_ms, 380);
  EXPECT_LT(elapsed_ms, 800 / 2 + 300);  // Well under the 800 ms sum.
}

TEST(PerformAll, PerRequestTimeoutsAreIndependent) {
  FakeHttpServer server(delay_from_path);
  const std::vector<HttpRequest> requests = {request_to(server.url() + "/2000", 200),
                                             request_to(server.url() + "/100", 1'000)};
  const auto responses = integrations::perform_all(requests, 5'000);
  EXPECT_EQ(responses[0].failure, HttpResponse::Failure::kTimeout);
  ASSERT_TRUE(responses[1].ok()) << responses[1].error;
  EXPECT_EQ(responses[1].status, 200);
}

TEST(PerformAll, OverallDeadlineAbortsEverythingStillRunning) {
  FakeHttpServer server(delay_from_path);
  const std::vector<HttpRequest> requests = {request_to(server.url() + "/3000"),
                                             request_to(server.url() + "/50"),
                                             request_to(server.url() + "/3000")};
  const auto started = Clock::now();
  const auto responses = integrations::perform_all(requests, 300);
  EXPECT_LT(ms_since(started), 1'000);
  EXPECT_EQ(responses[0].failure, HttpResponse::Failure::kTimeout);
  EXPECT_TRUE(responses[1].ok());
  EXPECT_EQ(responses[2].failure, HttpResponse::Failure::kTimeout);
  EXPECT_NE(responses[0].error.find("deadline"), std::string::npos);
}

TEST(PerformAll, BoundsRequestsInFlight) {
  FakeHttpServer server(delay_from_path);
  std::vector<HttpRequest> requests;
  for (int i = 0; i < 4; ++i) requests.push_back(request_to(server.url() + "/150"));
  const auto started = Clock::now();
  const auto responses = integrations::perform_all(requests, 5'000, 2);
  const int64_t elapsed_ms = ms_since(started);
  for (const auto& response : responses) EXPECT_EQ(response.status, 200);
  EXPECT_GE(elapsed_ms, 290);  // Two waves of 150 ms.
  EXPECT_LT(elapsed_ms, 590);  // Not four.
}

TEST(PerformAll, EmptyAndOversizedBatches) {
  EXPECT_TRUE(integrations::perform_all({}, 100).empty());
  const std::vector<HttpRequest> too_many(integrations::kParallelRequestsMax + 1,
                                          request_to("http://127.0.0.1:1/"));
  const auto responses = integrations::perform_all(too_many, 100);
  ASSERT_EQ(responses.size(), too_many.size());
  EXPECT_EQ(responses[0].failure, HttpResponse::Failure::kOther);
}

TEST(FormEncode, PercentEncodesNamesAndValuesInOrder) {
  EXPECT_EQ(integrations::form_encode({}), "");
  EXPECT_EQ(integrations::form_encode({{"mode", "subscription"},
                                       {"metadata[account_id]", "user 42&x=y"},
                                       {"line_items[0][price]", "price_ABC-1.2_~"}}),
            "mode=subscription&metadata%5Baccount_id%5D=user%2042%26x%3Dy&"
            "line_items%5B0%5D%5Bprice%5D=price_ABC-1.2_~");
  EXPECT_EQ(integrations::form_encode({{"email", "zoë@example.com"}}),
            "email=zo%C3%AB%40example.com");
}

}  // namespace
