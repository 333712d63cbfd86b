// POST /api/v1/humanize end to end: the charge (exactly once, only for delivered chunks,
// never when the model is down), 402 before any model call, 20 concurrent requests
// against a balance that affords 10, chunking at 500 words, word limits, Unicode, the
// seed's error codes and the Idempotency-Key semantics.
#include <atomic>
#include <thread>

#include "tests/content_http/content_fixture.h"

namespace content_http_tests {
namespace {

using HumanizeTest = ContentHttpTest;

FakeResponse failing_model(const RecordedRequest&) {
  return FakeResponse::json(500, R"({"error":"model overloaded"})");
}

TEST_F(HumanizeTest, ChargesThePriceExactlyOnceAndAnswersTheSeedShape) {
  const std::string account = new_account();
  const std::string text = prose(60);  // One chunk of <= 100 words: 30 credits.
  const TestResponse response =
      humanize(account, text_body(text, R"(,"mode":"standard","readability":"high_school",)"
                                        R"("purpose":"essay")"));
  ASSERT_EQ(response.status, 200) << response.body;

  const rapidjson::Document body = parse(response.body);
  ASSERT_EQ(body.MemberCount(), 5u) << response.body;  // Exactly the seed's fields.
  EXPECT_EQ(std::string(body["humanized_text"].GetString()), "[h] " + text);
  EXPECT_EQ(body["credits_used"].GetInt64(), kHumanizeBaseCredits);
  EXPECT_EQ(body["credits_remaining"].GetInt64(), kFreeCredits - kHumanizeBaseCredits);
  EXPECT_EQ(body["word_count"].GetInt64(), 60);
  EXPECT_TRUE(body["processing_time_ms"].IsInt64());

  const auto after = balance(account);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->credits_available, kFreeCredits - kHumanizeBaseCredits);
  EXPECT_EQ(after->credits_reserved, 0);
  EXPECT_EQ(after->credits_spent, kHumanizeBaseCredits);
  EXPECT_EQ(open_reservations(account), 0);

  // The model got the options; a second request is a second charge.
  const auto calls = backends_->requests_to(kHumanizerPath);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(json_string(calls[0].body, "/mode"), "standard");
  EXPECT_EQ(json_string(calls[0].body, "/readability"), "high_school");
  EXPECT_EQ(json_string(calls[0].body, "/purpose"), "essay");
  ASSERT_EQ(humanize(account, text_body(text)).status, 200);
  EXPECT_EQ(balance(account)->credits_available, kFreeCredits - 2 * kHumanizeBaseCredits);
  expect_ledger_verified();
}

TEST_F(HumanizeTest, ModelDownOnEveryChunkIs503AndChargesNothing) {
  backends_->on(kHumanizerPath, failing_model);
  const std::string account = new_account();
  const TestResponse response = humanize(account, text_body(prose(700)));  // Two chunks.
  ASSERT_EQ(response.status, 503) << response.body;
  EXPECT_EQ(response.body, R"({"error":"service_unavailable","retry_after":30})");
  EXPECT_EQ(response.header("retry-after"), "30");
  // Each chunk was tried twice (one retry on 5xx).
  EXPECT_EQ(backends_->requests_to(kHumanizerPath).size(), 4u);

  const auto after = balance(account);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->credits_available, kFreeCredits);
  EXPECT_EQ(after->credits_reserved, 0);
  EXPECT_EQ(after->credits_spent, 0);
  EXPECT_EQ(open_reservations(account), 0);
}

TEST_F(HumanizeTest, PartialFailureChargesOnlyTheChunksThatSucceeded) {
  // 700 words: chunk 1 = sentences 1-50 (500 words, 150 credits), chunk 2 = sentences 51-70
  // (200 words, 60 credits). The model fails chunk 2 only.
  backends_->on(kHumanizerPath, [](const RecordedRequest& request) {
    const std::string text = request_text(request);
    if (text.find("Sentence51 ") != std::string::npos) return failing_model(request);
    return FakeResponse::json(200, R"({"text":"humanized first half."})");
  });
  const std::string account = new_account();
  const std::string text = prose(700);
  const TestResponse response = humanize(account, text_body(text));
  ASSERT_EQ(response.status, 200) << response.body;
  const rapidjson::Document body = parse(response.body);
  EXPECT_EQ(body["credits_used"].GetInt64(), 150);
  EXPECT_EQ(body["credits_remaining"].GetInt64(), kFreeCredits - 150);
  EXPECT_EQ(body["word_count"].GetInt64(), 700);
  // The failed chunk keeps its original text.
  const std::string humanized = body["humanized_text"].GetString();
  EXPECT_EQ(humanized, "humanized first half. " + text.substr(text.find("Sentence51 ")));

  const auto after = balance(account);
  EXPECT_EQ(after->credits_available, kFreeCredits - 150);
  EXPECT_EQ(after->credits_spent, 150);
  EXPECT_EQ(after->credits_reserved, 0);
}

TEST_F(HumanizeTest, InsufficientCreditsIs402BeforeAnyModelCall) {
  const std::string account = new_account();
  // 1100 words: chunks of 500, 500, 100 words = 150 + 150 + 30 = 330 > 300.
  const TestResponse response = humanize(account, text_body(prose(1100)));
  ASSERT_EQ(response.status, 402) << response.body;
  EXPECT_EQ(response.body,
            R"({"error":"insufficient_credits","credits_needed":330,"credits_available":300})");
  EXPECT_TRUE(backends_->requests_to(kHumanizerPath).empty());
  EXPECT_EQ(balance(account)->credits_available, kFreeCredits);
}

TEST_F(HumanizeTest, TwentyConcurrentRequestsForTenAffordableOnes) {
  // Every request costs 30 credits and the model takes 200 ms, so all 20 overlap.
  backends_->on(kHumanizerPath, [](const RecordedRequest& request) {
    return FakeResponse::json(200, R"({"text":"ok )" + std::to_string(request.body.size()) + "\"}",
                              200);
  });
  const std::string account = new_account();
  const std::string body = text_body(prose(80));
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 20; ++i) {
    clients.emplace_back([&] {
      const TestResponse response = humanize(account, body);
      if (response.status == 200) {
        succeeded += 1;
      } else if (response.status == 402 && error_code(response) == "insufficient_credits") {
        refused += 1;
      } else {
        other += 1;
        ADD_FAILURE() << response.status << " " << response.body << " " << response.error;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(succeeded.load(), 10);
  EXPECT_EQ(refused.load(), 10);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(backends_->requests_to(kHumanizerPath).size(), 10u);  // No model call when refused.

  const auto after = balance(account);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->credits_available, 0);
  EXPECT_EQ(after->credits_reserved, 0);
  EXPECT_EQ(after->credits_spent, kFreeCredits);
  EXPECT_EQ(open_reservations(account), 0);
  expect_ledger_verified();
}

TEST_F(HumanizeTest, LongTextsAreChunkedAtFiveHundredWordsOnSentenceBoundaries) {
  const std::string account = new_account();
  grant(account, 1'000);
  // 1234 words: 500 + 500 + 234 -> 150 + 150 + ceil(234 * 30 / 100) = 371 credits.
  const std::string text = prose(1234);
  const TestResponse response = humanize(account, text_body(text));
  ASSERT_EQ(response.status, 200) << response.body;
  const rapidjson::Document body = parse(response.body);
  EXPECT_EQ(body["credits_used"].GetInt64(), 371);
  EXPECT_EQ(body["word_count"].GetInt64(), 1234);

  const auto calls = backends_->requests_to(kHumanizerPath);
  ASSERT_EQ(calls.size(), 3u);
  int64_t words_seen = 0;
  std::vector<std::string> chunks;
  for (const RecordedRequest& call : calls) {
    const std::string chunk = request_text(call);
    EXPECT_LE(word_count_of(chunk), 500);
    EXPECT_EQ(chunk.rfind("Sentence", 0), 0u) << "a chunk starts a sentence";
    EXPECT_EQ(chunk.back(), '.') << "a chunk ends a sentence";
    words_seen += word_count_of(chunk);
    chunks.push_back(chunk);
  }
  EXPECT_EQ(words_seen, 1234);
  // Chunks may be humanized in any order; the answer keeps the source order.
  std::sort(chunks.begin(), chunks.end(), [&text](const std::string& a, const std::string& b) {
    return text.find(a) < text.find(b);
  });
  EXPECT_EQ(std::string(body["humanized_text"].GetString()),
            "[h] " + chunks[0] + " [h] " + chunks[1] + " [h] " + chunks[2]);
  EXPECT_EQ(balance(account)->credits_available, kFreeCredits + 1'000 - 371);
}

TEST_F(HumanizeTest, WordLimitsAreTenToTenThousandInclusive) {
  const std::string account = new_account();
  TestResponse response = humanize(account, text_body(prose(9)));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, R"({"error":"text_too_short","min_words":10})");
  response = humanize(account, text_body(prose(10001)));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, R"({"error":"text_too_long","max_words":10000})");
  // Whitespace and control characters are not words.
  response = humanize(account, text_body("one two three \t\n\n\n four five six seven eight nine"));
  EXPECT_EQ(error_code(response), "text_too_short");
  EXPECT_TRUE(backends_->requests_to(kHumanizerPath).empty());

  response = humanize(account, text_body(prose(10)));
  EXPECT_EQ(response.status, 200) << response.body;
  // 10,000 words is accepted: 20 chunks x 150 credits, more than the account has.
  response = humanize(account, text_body(prose(10000)));
  EXPECT_EQ(response.status, 402) << response.body;
  EXPECT_EQ(parse(response.body)["credits_needed"].GetInt64(), 3000);
}

TEST_F(HumanizeTest, UnicodeTextReachesTheModelIntactAndIsSanitised) {
  const std::string account = new_account();
  // Accents, CJK, Arabic, emoji, a zero-width joiner; plus control characters, CRLF and runs
  // of spaces that sanitising removes or collapses.
  const std::string text =
      "Grüße aus Köln, naïve café — \xE2\x80\x9Cquoted\xE2\x80\x9D text.\r\n"
      "日本語 の テキスト です。 مرحبا بالعالم 👩\xE2\x80\x8D💻 emoji  \x07 fin.";
  const std::string sanitized =
      "Grüße aus Köln, naïve café — \xE2\x80\x9Cquoted\xE2\x80\x9D text.\n"
      "日本語 の テキスト です。 مرحبا بالعالم 👩\xE2\x80\x8D💻 emoji fin.";
  const TestResponse response = humanize(account, text_body(text));
  ASSERT_EQ(response.status, 200) << response.body;
  const auto calls = backends_->requests_to(kHumanizerPath);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(request_text(calls[0]), sanitized);
  const rapidjson::Document body = parse(response.body);
  EXPECT_EQ(std::string(body["humanized_text"].GetString()), "[h] " + sanitized);
  EXPECT_EQ(body["word_count"].GetInt64(), 17);
}

TEST_F(HumanizeTest, InvalidRequestsAre400WithoutModelCallsOrEvents) {
  const std::string account = new_account();
  const std::string ten = prose(20);
  struct Case {
    std::string body;
    std::string error;
    std::string field;
  };
  const std::vector<Case> cases = {
      {text_body(ten, R"(,"mode":"turbo")"), "invalid_request", "mode"},
      {text_body(ten, R"(,"readability":"toddler")"), "invalid_request", "readability"},
      {text_body(ten, R"(,"purpose":"poem")"), "invalid_request", "purpose"},
      {text_body(ten, R"(,"mode":7)"), "invalid_request", "mode"},
      {R"({"text":12345678901})", "invalid_request", "text"},
      {R"({"text":["a","b"]})", "invalid_request", "text"},
      {R"({"mode":"standard"})", "invalid_request", "text"},
      {text_body(ten, R"(,"temperature":1)"), "invalid_request", "temperature"},
      {R"({"text":"unterminated)", "invalid_json", ""},
      {"[\"text\"]", "invalid_json", ""},
      {"{\"text\":\"bad \xC3\x28 utf-8 " + ten + "\"}", "invalid_json", ""},
      {R"({"text":"lone \ud800 surrogate"})", "invalid_json", ""},
  };
  for (const Case& c : cases) {
    const TestResponse response = humanize(account, c.body);
    EXPECT_EQ(response.status, 400) << c.body << " -> " << response.body;
    EXPECT_EQ(error_code(response), c.error) << c.body << " -> " << response.body;
    if (!c.field.empty()) {
      EXPECT_EQ(json_string(response.body, "/field"), c.field) << c.body;
    }
  }
  // The allowed values are listed.
  const rapidjson::Document mode_error =
      parse(humanize(account, text_body(ten, R"(,"mode":"turbo")")).body);
  ASSERT_TRUE(mode_error["allowed"].IsArray());
  EXPECT_EQ(mode_error["allowed"].Size(), 6u);
  EXPECT_EQ(std::string(mode_error["allowed"][0].GetString()), "standard");
  EXPECT_TRUE(backends_->requests_to(kHumanizerPath).empty());
  EXPECT_EQ(event_count(account), 0);
}

TEST_F(HumanizeTest, OnlyUserTokensMayHumanize) {
  const std::string body = text_body(prose(20));
  TestResponse response =
      testing_support::http_post(url("/api/v1/humanize"), {}, body);  // No credentials.
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(error_code(response), "unauthorized");
  response = testing_support::http_post(url("/api/v1/humanize"),
                                        {{"Authorization", "Bearer " + admin_key_}}, body);
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(error_code(response), "forbidden");
  response = testing_support::http_get(url("/api/v1/humanize"), bearer(new_account()));
  EXPECT_EQ(response.status, 405);
  EXPECT_TRUE(backends_->requests_to(kHumanizerPath).empty());
}

TEST_F(HumanizeTest, AnIdempotencyKeyNeverChargesTwice) {
  const std::string account = new_account();
  const std::string body = text_body(prose(50));
  const TestHeaders key = {{"Idempotency-Key", "humanize-once-1"}};

  // A retry after a 503 (the first attempt released its reservation) runs again.
  backends_->on(kHumanizerPath, failing_model);
  EXPECT_EQ(humanize(account, body, key).status, 503);
  backends_->reset();
  const TestResponse first = humanize(account, body, key);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(balance(account)->credits_available, kFreeCredits - kHumanizeBaseCredits);

  // A repeat of a charged request is refused without a model call or a second charge.
  backends_->clear_requests();
  const TestResponse repeat = humanize(account, body, key);
  EXPECT_EQ(repeat.status, 409) << repeat.body;
  EXPECT_EQ(error_code(repeat), "idempotency_conflict");
  // The same key for a text of another price conflicts too.
  EXPECT_EQ(error_code(humanize(account, text_body(prose(300)), key)), "idempotency_conflict");
  EXPECT_TRUE(backends_->requests_to(kHumanizerPath).empty());
  EXPECT_EQ(balance(account)->credits_available, kFreeCredits - kHumanizeBaseCredits);
  EXPECT_EQ(balance(account)->credits_reserved, 0);

  // A malformed key is refused before anything else.
  const TestResponse bad = humanize(account, body, {{"Idempotency-Key", std::string(300, 'k')}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_code(bad), "invalid_idempotency_key");
  expect_ledger_verified();
}

TEST_F(HumanizeTest, RequestsAreCountedInMetricsUnderTheRouteTemplate) {
  ASSERT_EQ(humanize(new_account(), text_body(prose(20))).status, 200);
  const TestResponse metrics = testing_support::http_get(url("/metrics"), {});
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(R"(route="/api/v1/humanize",status="200")"), std::string::npos)
      << metrics.body.substr(0, 2000);
}

}  // namespace
}  // namespace content_http_tests
