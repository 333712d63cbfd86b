// Tests for tests/support/fake_http_server.h, the fake behind every network-boundary
// test: recording, free ports, large bodies, delays that do not block other requests.
#include "tests/support/fake_http_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "integrations/http_client.h"

namespace {

using integrations::HttpRequest;
using integrations::HttpResponse;
using testing_support::FakeHttpServer;
using testing_support::FakeResponse;
using testing_support::RecordedRequest;

HttpRequest post(const std::string& url, std::string body) {
  HttpRequest request;
  request.url = url;
  request.body = std::move(body);
  request.headers = {{"Content-Type", "application/json"}, {"X-Custom", "custom value"}};
  return request;
}

TEST(FakeHttpServer, RecordsEveryRequest) {
  FakeHttpServer server(
      [](const RecordedRequest&) { return FakeResponse::json(201, "{\"ok\":true}"); });
  EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()));

  const HttpResponse response =
      integrations::perform(post(server.url() + "/v1/things?a=1&b=two", "{\"x\":1}"));
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "{\"ok\":true}");

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/v1/things");
  EXPECT_EQ(requests[0].query_params.at("a"), "1");
  EXPECT_EQ(requests[0].query_params.at("b"), "two");
  EXPECT_EQ(requests[0].body, "{\"x\":1}");
  EXPECT_EQ(requests[0].header("x-custom").value_or(""), "custom value");
  EXPECT_NE(requests[0].header("Content-Type").value_or("").find("application/json"),
            std::string::npos);
  EXPECT_FALSE(requests[0].header("Expect").has_value());
  EXPECT_EQ(server.requests_to("/v1/things").size(), 1u);
  server.clear_requests();
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(FakeHttpServer, InstancesGetDistinctPorts) {
  FakeHttpServer first([](const RecordedRequest&) { return FakeResponse::json(200, "{}"); });
  FakeHttpServer second([](const RecordedRequest&) { return FakeResponse::json(200, "{}"); });
  EXPECT_NE(first.port(), 0);
  EXPECT_NE(first.port(), second.port());
}

TEST(FakeHttpServer, AcceptsLargeBodies) {
  FakeHttpServer server([](const RecordedRequest& request) {
    return FakeResponse::json(200, std::to_string(request.body.size()));
  });
  const std::string body(700 * 1024, 'x');  // A 10,000-word text is ~70 KB; be generous.
  const HttpResponse response = integrations::perform(post(server.url() + "/big", body));
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_EQ(response.body, std::to_string(body.size()));
}

TEST(FakeHttpServer, DelayedResponseDoesNotBlockOtherRequests) {
  FakeHttpServer server([](const RecordedRequest& request) {
    return FakeResponse::json(200, "{}", request.path == "/slow" ? 1'500 : 0);
  });
  // More slow requests than reactor threads: a blocking delay would stall the fast one.
  std::vector<HttpRequest> requests;
  for (int i = 0; i < 4; ++i) requests.push_back(post(server.url() + "/slow", "{}"));
  requests.push_back(post(server.url() + "/fast", "{}"));
  const auto responses = integrations::perform_all(requests, 5'000);
  for (const HttpResponse& response : responses) ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_LT(responses.back().latency_ms, 700);
  EXPECT_GE(responses.front().latency_ms, 1'400);
}

TEST(FakeHttpServer, HandlerExceptionsBecome500) {
  FakeHttpServer server(
      [](const RecordedRequest&) -> FakeResponse { throw std::runtime_error("boom"); });
  const HttpResponse response = integrations::perform(post(server.url() + "/x", "{}"));
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_EQ(response.status, 500);
}

TEST(FakeHttpServer, HandlerCanBeReplaced) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeResponse::json(200, "first"); });
  EXPECT_EQ(integrations::perform(post(server.url() + "/", "")).body, "first");
  server.set_handler([](const RecordedRequest&) { return FakeResponse::json(503, "second"); });
  const HttpResponse response = integrations::perform(post(server.url() + "/", ""));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "second");
}

TEST(FakeHttpServer, StopsCleanlyWithResponsesStillDelayed) {
  auto server = std::make_unique<FakeHttpServer>(
      [](const RecordedRequest&) { return FakeResponse::json(200, "{}", 10'000); });
  HttpRequest request = post(server->url() + "/never", "{}");
  request.timeout_ms = 200;
  const HttpResponse response = integrations::perform(request);
  EXPECT_EQ(response.failure, HttpResponse::Failure::kTimeout);
  const auto started = std::chrono::steady_clock::now();
  server.reset();  // Must not wait for the 10 s delay.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

}  // namespace
