// POST /api/v1/billing/checkout against a fake Stripe API: the exact form parameters and
// headers Stripe receives, and every error mapping (400 before any call, Stripe 4xx -> 502
// with Stripe's code, idempotency errors -> 409, 5xx / 429 / timeout / no connection -> 503).
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "http/billing_routes.h"
#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"

namespace billing_tests {
namespace {

using http_tests::error_code;
using http_tests::parse_json;
using http_tests::string_field;

constexpr const char* kProMonthlyUsd =
    R"({"plan_id":"pro","billing_cycle":"monthly","currency":"usd"})";

using Form = std::vector<std::pair<std::string, std::string>>;

class CheckoutTest : public BillingTest {
 protected:
  // The one request the fake Stripe received.
  testing_support::RecordedRequest only_stripe_request() const {
    const auto requests = stripe_->requests();
    EXPECT_EQ(requests.size(), 1u);
    return requests.empty() ? testing_support::RecordedRequest{} : requests.front();
  }

  static Form expected_form(const std::string& account, const std::string& price,
                            const std::string& plan) {
    return {{"mode", "subscription"},
            {"line_items[0][price]", price},
            {"line_items[0][quantity]", "1"},
            {"success_url", kSuccessUrl},
            {"cancel_url", kCancelUrl},
            {"client_reference_id", account},
            {"metadata[account_id]", account},
            {"metadata[plan_id]", plan},
            {"subscription_data[metadata][account_id]", account},
            {"subscription_data[metadata][plan_id]", plan}};
  }
};

TEST_F(CheckoutTest, StripeReceivesExactlyTheDocumentedParametersAndHeaders) {
  const TestResponse response = post_checkout("alice", kProMonthlyUsd, "client-key-1");
  ASSERT_EQ(response.status, 200) << response.body;
  const rapidjson::Document reply = parse_json(response.body);
  const std::string session_id = string_field(reply, "session_id");
  EXPECT_EQ(string_field(reply, "checkout_url"),
            "https://checkout.stripe.com/c/pay/" + session_id + "#fidkdWxOYHwnPyd1blpxYHZxWjA0");

  const testing_support::RecordedRequest request = only_stripe_request();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/v1/checkout/sessions");
  EXPECT_EQ(request.query, "");
  EXPECT_EQ(request.header("Authorization"), std::string("Bearer ") + kStripeApiKey);
  EXPECT_EQ(request.header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(request.header("Idempotency-Key"),
            http::BillingRoutes::checkout_idempotency_key("alice", "client-key-1"));
  // Every field exactly once, nothing else (no `customer` for a new account, no currency:
  // Stripe requires `currency` only in setup mode).
  EXPECT_EQ(decode_form(request.body), expected_form("alice", "price_pro_monthly", "pro"));
  // Brackets and the URLs' reserved characters are percent-encoded on the wire.
  EXPECT_NE(request.body.find("line_items%5B0%5D%5Bprice%5D=price_pro_monthly"), std::string::npos)
      << request.body;
  EXPECT_NE(request.body.find("success_url=https%3A%2F%2Fapp.example.test%2F"), std::string::npos);
}

TEST_F(CheckoutTest, YearlyCycleUppercaseCurrencyAndAKnownCustomer) {
  // A returning customer: a Stripe subscription linked cus_bob to bob before.
  Subscriber bob = subscriber("bob");
  bob.account = "bob";
  ASSERT_EQ(deliver_ok(checkout_completed("evt_bob", now_s() - 100, bob, "pro")), "processed");
  const TestResponse response = post_checkout(
      "bob", R"({"plan_id":"business","billing_cycle":"yearly","currency":"EUR"})", std::nullopt);
  ASSERT_EQ(response.status, 200) << response.body;
  const testing_support::RecordedRequest request = only_stripe_request();
  Form form = expected_form("bob", "price_business_yearly", "business");
  form.emplace_back("customer", "cus_bob");
  EXPECT_EQ(decode_form(request.body), form);
  // Without a client key the Stripe key is generated, different on every request.
  const std::string generated = request.header("Idempotency-Key").value_or("");
  EXPECT_EQ(generated.rfind("checkout:", 0), 0u);
  ASSERT_EQ(post_checkout("bob", kProMonthlyUsd, std::nullopt).status, 200);
  EXPECT_NE(stripe_->requests().back().header("Idempotency-Key").value_or(""), generated);
}

TEST_F(CheckoutTest, TheSameClientKeyGivesStripeTheSameKeyScopedByAccount) {
  ASSERT_EQ(post_checkout("carol", kProMonthlyUsd, "retry-1").status, 200);
  ASSERT_EQ(post_checkout("carol", kProMonthlyUsd, "retry-1").status, 200);
  ASSERT_EQ(post_checkout("dave", kProMonthlyUsd, "retry-1").status, 200);
  const auto requests = stripe_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].header("Idempotency-Key"), requests[1].header("Idempotency-Key"));
  EXPECT_NE(requests[0].header("Idempotency-Key"), requests[2].header("Idempotency-Key"));
}

TEST_F(CheckoutTest, InvalidRequestsAre400WithACodeAndNeverReachStripe) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"plan_id":"platinum","billing_cycle":"monthly","currency":"usd"})", "unknown_plan"},
      {R"({"plan_id":"free","billing_cycle":"monthly","currency":"usd"})", "plan_not_purchasable"},
      {R"({"plan_id":"pro","billing_cycle":"weekly","currency":"usd"})", "invalid_billing_cycle"},
      {R"({"plan_id":"pro","billing_cycle":"monthly","currency":"gbp"})", "unsupported_currency"},
      {R"({"plan_id":"pro","billing_cycle":"monthly"})", "invalid_request"},
      {R"({"plan_id":"pro","billing_cycle":"monthly","currency":7})", "invalid_request"},
      {R"({"plan_id":"pro","billing_cycle":"monthly","currency":"usd","coupon":"x"})",
       "invalid_request"},
      {R"({"plan_id":"pro")", "invalid_json"},
      {R"([])", "invalid_json"},
  };
  for (const auto& [body, code] : cases) {
    const TestResponse response = post_checkout("erin", body, std::nullopt);
    EXPECT_EQ(response.status, 400) << body << " -> " << response.body;
    EXPECT_EQ(error_code(response), code) << body;
  }
  const TestResponse bad_key = post_checkout("erin", kProMonthlyUsd, std::string(300, 'k'));
  EXPECT_EQ(bad_key.status, 400);
  EXPECT_EQ(error_code(bad_key), "invalid_idempotency_key");
  EXPECT_EQ(stripe_->request_count(), 0u);
  // Users only: no token is 401.
  EXPECT_EQ(testing_support::http_post(url("/api/v1/billing/checkout"), {}, kProMonthlyUsd).status,
            401);
}

TEST_F(CheckoutTest, StripeClientErrorsAre502WithStripesCode) {
  stripe_->set_handler([](const testing_support::RecordedRequest&) {
    return stripe_error(400, "invalid_request_error", "resource_missing",
                        "No such price: 'price_pro_monthly'");
  });
  TestResponse response = post_checkout("frank", kProMonthlyUsd, std::nullopt);
  EXPECT_EQ(response.status, 502) << response.body;
  EXPECT_EQ(response.body,
            R"({"error":"payment_provider_error","provider_code":"resource_missing"})");
  // A 401 (bad API key) carries no code: Stripe's error type stands in.
  stripe_->set_handler([](const testing_support::RecordedRequest&) {
    return stripe_error(401, "invalid_request_error", "", "Invalid API Key provided: sk_test_****");
  });
  response = post_checkout("frank", kProMonthlyUsd, std::nullopt);
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(response.body,
            R"({"error":"payment_provider_error","provider_code":"invalid_request_error"})");
  // The same Idempotency-Key with other parameters.
  stripe_->set_handler([](const testing_support::RecordedRequest&) {
    return stripe_error(400, "idempotency_error", "",
                        "Keys for idempotent requests can only be used with the same parameters");
  });
  response = post_checkout("frank", kProMonthlyUsd, "reused");
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(error_code(response), "idempotency_conflict");
}

TEST_F(CheckoutTest, StripeServerErrorsRateLimitsAndTimeoutsAre503) {
  for (const int status : {500, 503, 429}) {
    stripe_->set_handler([status](const testing_support::RecordedRequest&) {
      return stripe_error(status, status == 429 ? "rate_limit_error" : "api_error",
                          status == 429 ? "rate_limit" : "", "Something went wrong");
    });
    const TestResponse response = post_checkout("gina", kProMonthlyUsd, std::nullopt);
    EXPECT_EQ(response.status, 503) << status << ": " << response.body;
    EXPECT_EQ(error_code(response), "service_unavailable");
    EXPECT_EQ(response.header("retry-after"), "5");
    EXPECT_NE(response.body.find(R"("retry_after":5)"), std::string::npos);
  }
  // Slower than the total timeout (1 s): 503 after about a second, not after Stripe.
  stripe_->set_handler([](const testing_support::RecordedRequest& request) {
    auto answer = checkout_session_created(request);
    answer.delay_ms = 4'000;
    return answer;
  });
  const auto started = std::chrono::steady_clock::now();
  const TestResponse response = post_checkout("gina", kProMonthlyUsd, std::nullopt);
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
  EXPECT_EQ(response.status, 503) << response.body;
  EXPECT_EQ(error_code(response), "service_unavailable");
  EXPECT_GE(elapsed_ms, 900);
  EXPECT_LT(elapsed_ms, 3'000);
  // A 200 without a session is Stripe's fault, not ours.
  stripe_->set_handler([](const testing_support::RecordedRequest&) {
    return testing_support::FakeResponse::json(200, R"({"object":"checkout.session"})");
  });
  const TestResponse empty = post_checkout("gina", kProMonthlyUsd, std::nullopt);
  EXPECT_EQ(empty.status, 502);
  EXPECT_EQ(empty.body, R"({"error":"payment_provider_error","provider_code":"invalid_response"})");
}

TEST_F(CheckoutTest, StripeUnreachableIs503) {
  std::vector<std::string> flags = ledgerd_flags();
  flags.push_back("--stripe_api_base=http://127.0.0.1:" +
                  std::to_string(testing_support::free_loopback_port()));
  restart_ledgerd(flags);
  const TestResponse response = post_checkout("hank", kProMonthlyUsd, std::nullopt);
  EXPECT_EQ(response.status, 503) << response.body;
  EXPECT_EQ(error_code(response), "service_unavailable");
}

TEST_F(CheckoutTest, WithoutAnApiKeyCheckoutIs503) {
  std::vector<std::string> flags = ledgerd_flags();
  flags.push_back("--stripe_api_key=");
  restart_ledgerd(flags);
  EXPECT_EQ(post_checkout("ivy", kProMonthlyUsd, std::nullopt).status, 503);
  EXPECT_EQ(stripe_->request_count(), 0u);
}

}  // namespace
}  // namespace billing_tests
