// BillingTest helpers, the fake Stripe API's answers and form decoding.
#include "tests/billing/billing_fixture.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "webhooks/signature.h"

namespace billing_tests {
namespace {

std::atomic<int> g_session_counter{0};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string form_decode_component(const std::string& text) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      decoded.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 &&
               hex_digit(text[i + 2]) >= 0) {
      decoded.push_back(static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2])));
      i += 2;
    } else {
      decoded.push_back(text[i]);
    }
  }
  return decoded;
}

}  // namespace

std::string billing_plans_json() { return testing_support::default_test_plans_json(); }

testing_support::FakeResponse checkout_session_created(const testing_support::RecordedRequest&) {
  const std::string id = "cs_test_a1" + std::to_string(++g_session_counter);
  return testing_support::FakeResponse::json(
      200, R"({"id": ")" + id + R"(", "object": "checkout.session", "mode": "subscription",)" +
               R"( "status": "open", "payment_status": "unpaid", "livemode": false,)" +
               R"( "url": "https://checkout.stripe.com/c/pay/)" + id +
               R"(#fidkdWxOYHwnPyd1blpxYHZxWjA0")" + R"(, "expires_at": 1900000000})");
}

testing_support::FakeResponse stripe_error(int status, const std::string& type,
                                           const std::string& code, const std::string& message) {
  const std::string code_field = code.empty() ? "" : R"("code": ")" + code + R"(", )";
  return testing_support::FakeResponse::json(
      status,
      R"({"error": {)" + code_field + R"("doc_url": "https://stripe.com/docs/error-codes",)" +
          R"( "message": ")" + message + R"(", "request_log_url":)" +
          R"( "https://dashboard.stripe.com/test/logs/req_123", "type": ")" + type + R"("}})");
}

std::vector<std::pair<std::string, std::string>> decode_form(const std::string& body) {
  std::vector<std::pair<std::string, std::string>> fields;
  std::size_t start = 0;
  while (start <= body.size() && !body.empty()) {
    const std::size_t end = std::min(body.find('&', start), body.size());
    const std::string item = body.substr(start, end - start);
    const std::size_t equals = item.find('=');
    fields.emplace_back(
        form_decode_component(item.substr(0, equals)),
        equals == std::string::npos ? "" : form_decode_component(item.substr(equals + 1)));
    start = end + 1;
  }
  return fields;
}

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void BillingTest::SetUp() {
  stripe_ = std::make_unique<testing_support::FakeHttpServer>(checkout_session_created);
  char path[] = "/tmp/billing-plans-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  plans_path_ = path;
  std::ofstream(plans_path_) << plans_json();
  http_tests::LedgerdTest::SetUp();
}

std::string BillingTest::plans_json() const { return billing_plans_json(); }

void BillingTest::TearDown() {
  http_tests::LedgerdTest::TearDown();
  stripe_.reset();
  std::remove(plans_path_.c_str());
}

std::vector<std::string> BillingTest::ledgerd_flags() const {
  std::vector<std::string> flags = http_tests::LedgerdTest::ledgerd_flags();
  const std::vector<std::string> billing = {
      "--plans=" + plans_path_,
      std::string("--stripe_webhook_secret=") + kWebhookSecret + "," + kWebhookSecretRotated,
      std::string("--stripe_api_key=") + kStripeApiKey,
      "--stripe_api_base=" + stripe_->url(),
      std::string("--stripe_timeout_ms=") + kStripeTimeoutMs,
      "--stripe_connect_timeout_ms=500",
      std::string("--checkout_success_url=") + kSuccessUrl,
      std::string("--checkout_cancel_url=") + kCancelUrl,
      "--webhook_retry_poll_ms=50",
      "--webhook_retry_base_ms=100",
      "--webhook_retry_max_ms=200",
      "--webhook_attempts_max=" + std::to_string(kWebhookAttemptsMax),
      "--outbox_poll_ms=50",
  };
  flags.insert(flags.end(), billing.begin(), billing.end());
  return flags;
}

TestResponse BillingTest::deliver(const std::string& body, const std::string& secret,
                                  std::optional<int64_t> timestamp_s) const {
  return deliver_with_header(
      body, webhooks::stripe_signature_header(secret, timestamp_s.value_or(now_s()), body));
}

TestResponse BillingTest::deliver_with_header(
    const std::string& body, const std::optional<std::string>& signature_header) const {
  TestHeaders headers = {{"Content-Type", "application/json; charset=utf-8"},
                         {"User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}};
  if (signature_header) headers.emplace_back("Stripe-Signature", *signature_header);
  return testing_support::http_post(url("/api/v1/billing/webhooks/stripe"), headers, body);
}

std::string BillingTest::deliver_ok(const std::string& body) const {
  const TestResponse response = deliver(body);
  EXPECT_EQ(response.status, 200) << response.body;
  const rapidjson::Document reply = http_tests::parse_json(response.body);
  if (!reply.IsObject() || !reply.HasMember("received")) {
    ADD_FAILURE() << "not a webhook reply: " << response.body;
    return "";
  }
  EXPECT_TRUE(reply["received"].GetBool());
  return reply.HasMember("status") ? reply["status"].GetString() : "";
}

TestResponse BillingTest::get_subscription(const std::string& account) const {
  return testing_support::http_get(url("/api/v1/billing/subscription"), bearer(token(account)));
}

TestResponse BillingTest::get_credits(const std::string& account) const {
  return testing_support::http_get(url("/api/v1/credits"), bearer(token(account)));
}

TestResponse BillingTest::post_checkout(const std::string& account, const std::string& body,
                                        const std::optional<std::string>& idempotency_key) const {
  TestHeaders headers = bearer(token(account));
  if (idempotency_key) headers.emplace_back("Idempotency-Key", *idempotency_key);
  return testing_support::http_post(url("/api/v1/billing/checkout"), headers, body);
}

std::string BillingTest::processing_status(const std::string& event_id) const {
  return processing_column(event_id, "status");
}

std::string BillingTest::processing_column(const std::string& event_id,
                                           const std::string& column) const {
  auto connection = database_->connect();
  pqxx::read_transaction work(*connection);
  const pqxx::result rows =
      work.exec_params("SELECT coalesce(" + column +
                           "::text, '') FROM webhook_processing"
                           " WHERE provider = 'stripe' AND provider_event_id = $1",
                       event_id);
  return rows.empty() ? "" : rows[0][0].as<std::string>();
}

int64_t BillingTest::deliveries_stored() const {
  auto connection = database_->connect();
  pqxx::read_transaction work(*connection);
  return work.exec1("SELECT count(*) FROM webhook_deliveries")[0].as<int64_t>();
}

bool BillingTest::wait_for_status(const std::string& event_id, const std::string& status,
                                  int64_t timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (processing_status(event_id) == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return processing_status(event_id) == status;
}

std::vector<std::string> BillingTest::event_lines(const std::string& account) const {
  std::vector<std::string> lines;
  for (const ledger::StoredEvent& event : stored_events(account)) {
    lines.push_back(event.event_type + " " + event.payload);
  }
  return lines;
}

}  // namespace billing_tests
