// ledgerd as shipped: config/detectors.json (nine detectors, the external ones disabled),
// no HUMANIZER_URL (the built-in local rewriter), no INTERNAL_DETECTOR_URL (the built-in
// heuristic), rate limiting on. Also: a broken or missing detectors file stops ledgerd at
// start with a message naming the problem.
#include <stdexcept>

#include "integrations/detectors_config.h"
#include "tests/content_http/content_fixture.h"

namespace content_http_tests {
namespace {

const std::string kShippedDetectors = std::string(LEDGER_SOURCE_DIR) + "/config/detectors.json";
constexpr int kRateLimitBurst = 4;

class ShippedConfigTest : public ContentHttpTest {
 protected:
  static void SetUpTestSuite() {
    environment_ = std::make_unique<ContentEnvironment>(
        std::vector<std::string>{"--rate_limit_per_s=0.2",
                                 "--rate_limit_burst=" + std::to_string(kRateLimitBurst),
                                 "--log_level=warn"},
        kShippedDetectors);
  }
  static void TearDownTestSuite() { environment_.reset(); }
};

// Thirty words of stock "AI" phrasing for the local rewriter.
const std::string kStockText =
    "Furthermore, we utilize a robust framework to delve into the data. In conclusion, it is "
    "important to note that the results do not change. We utilize them daily at work.";

TEST(ShippedDetectorsFile, HasTheNineDetectorsWithTheExternalOnesDisabled) {
  const auto loaded = integrations::load_detectors_config(kShippedDetectors);
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  ASSERT_EQ(loaded.config->detectors.size(), kDetectorNames.size());
  for (const std::string& name : kDetectorNames) {
    const integrations::DetectorConfig* detector = loaded.config->find(name);
    ASSERT_NE(detector, nullptr) << name;
    EXPECT_FALSE(detector->enabled) << name;
    EXPECT_TRUE(detector->api_key.empty() && detector->auth_value.empty()) << name;
  }
  EXPECT_EQ(loaded.config->overall_timeout_ms, 20'000);
}

TEST_F(ShippedConfigTest, HumanizeUsesTheLocalRewriter) {
  const std::string account = new_account();
  const TestResponse response = humanize(account, text_body(kStockText));
  ASSERT_EQ(response.status, 200) << response.body;
  const rapidjson::Document body = parse(response.body);
  const std::string humanized = body["humanized_text"].GetString();
  EXPECT_NE(humanized, kStockText);
  EXPECT_EQ(humanized.find("utilize"), std::string::npos) << humanized;
  EXPECT_NE(humanized.find("use"), std::string::npos) << humanized;
  EXPECT_EQ(body["credits_used"].GetInt64(), kHumanizeBaseCredits);
  EXPECT_EQ(balance(account)->credits_available, kFreeCredits - kHumanizeBaseCredits);
}

TEST_F(ShippedConfigTest, DetectAnswersWithTheInternalHeuristicAlone) {
  const std::string account = new_account();
  TestResponse response = detect(account, text_body(kStockText));
  ASSERT_EQ(response.status, 200) << response.body;
  const rapidjson::Document body = parse(response.body);
  EXPECT_EQ(body["detectors"].MemberCount(), 0u);
  ASSERT_TRUE(body["internal_score"].IsNumber());
  EXPECT_DOUBLE_EQ(body["overall_score"].GetDouble(), body["internal_score"].GetDouble());
  EXPECT_EQ(body["credits_used"].GetInt64(), kDetectBaseCredits);

  // Naming a disabled detector reports it skipped; the charge is the same.
  response = detect(account, text_body(kStockText, R"(,"detectors":["gptzero"])"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(json_string(response.body, "/detectors/gptzero/status"), "skipped");
  EXPECT_EQ(json_string(response.body, "/detectors/gptzero/reason"), "disabled");
  EXPECT_EQ(balance(account)->credits_spent, 2 * kDetectBaseCredits);
}

TEST_F(ShippedConfigTest, RequestsBeyondTheRateLimitAre429) {
  const std::string account = new_account();
  for (int i = 0; i < kRateLimitBurst; ++i) {
    ASSERT_EQ(detect(account, text_body(kStockText)).status, 200) << i;
  }
  const TestResponse limited = humanize(account, text_body(kStockText));
  ASSERT_EQ(limited.status, 429) << limited.body;
  const rapidjson::Document body = parse(limited.body);
  EXPECT_EQ(std::string(body["error"].GetString()), "rate_limit_exceeded");
  EXPECT_GT(body["retry_after"].GetInt64(), 0);
  EXPECT_EQ(limited.header("retry-after"), std::to_string(body["retry_after"].GetInt64()));
  EXPECT_EQ(balance(account)->credits_spent, kRateLimitBurst * kDetectBaseCredits);
}

TEST_F(ShippedConfigTest, ABrokenDetectorsFileStopsLedgerdWithAClearMessage) {
  const auto start_with = [](const std::string& detectors) {
    try {
      ContentEnvironment broken({"--log_level=warn"}, detectors);
    } catch (const std::runtime_error& error) {
      return std::string(error.what());
    }
    return std::string("started");
  };
  std::string failure = start_with(R"({"detectors": [{"name": "gptzero", "kind": "gptzero"}]})");
  EXPECT_NE(failure.find("exited with 3"), std::string::npos) << failure;
  EXPECT_NE(failure.find("detectors[0].api_key: is required when enabled"), std::string::npos)
      << failure;
  failure = start_with("/nonexistent/detectors.json");  // Named explicitly: must exist.
  EXPECT_NE(failure.find("cannot open the detectors file"), std::string::npos) << failure;
}

}  // namespace
}  // namespace content_http_tests
