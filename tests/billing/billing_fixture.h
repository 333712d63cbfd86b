// BillingTest: the ledgerd fixture (tests/http/ledgerd_fixture.h: fresh database, real
// ledgerd) with Stripe configured: two webhook secrets (rotation), a fake Stripe API
// (FakeHttpServer) as STRIPE_API_BASE that answers Checkout Session requests the way Stripe
// does and records them, a plans file with pro and business, and fast retry loops.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/http/ledgerd_fixture.h"
#include "tests/support/fake_http_server.h"

namespace billing_tests {

using http_tests::TestHeaders;
using http_tests::TestResponse;

inline constexpr const char* kWebhookSecret = "whsec_test_primary_5f2b6c1e9d";
inline constexpr const char* kWebhookSecretRotated = "whsec_test_rotated_a83d0e7f41";
inline constexpr const char* kStripeApiKey = "sk_test_51LedgerBillingTests";
inline constexpr const char* kSuccessUrl =
    "https://app.example.test/billing/success?session_id={CHECKOUT_SESSION_ID}";
inline constexpr const char* kCancelUrl = "https://app.example.test/billing/cancel";
inline constexpr const char* kStripeTimeoutMs = "1000";
inline constexpr int kWebhookAttemptsMax = 4;

// The shared test catalog (tests/support/ledgerd_process.h): free 300, pro 10000 and
// business 50000 (monthly and yearly prices, usd and eur).
std::string billing_plans_json();

// The fake Stripe's answer to a Checkout Session request: 200 with a session object.
testing_support::FakeResponse checkout_session_created(const testing_support::RecordedRequest&);
// Stripe's error shape: {"error": {"type", "code"?, "message"}} with `status`.
testing_support::FakeResponse stripe_error(int status, const std::string& type,
                                           const std::string& code, const std::string& message);

// Decodes an application/x-www-form-urlencoded body into (name, value) pairs, in order.
std::vector<std::pair<std::string, std::string>> decode_form(const std::string& body);

int64_t now_s();

class BillingTest : public http_tests::LedgerdTest {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::vector<std::string> ledgerd_flags() const override;
  // The plans file ledgerd starts with (default: billing_plans_json()).
  virtual std::string plans_json() const;

  // POST /api/v1/billing/webhooks/stripe with `body` signed by `secret` at `timestamp_s`
  // (default: now), as Stripe does.
  TestResponse deliver(const std::string& body, const std::string& secret = kWebhookSecret,
                       std::optional<int64_t> timestamp_s = std::nullopt) const;
  // The same with an explicit Stripe-Signature header (nullopt: no header at all).
  TestResponse deliver_with_header(const std::string& body,
                                   const std::optional<std::string>& signature_header) const;
  // deliver() and expect 200 {"received": true}; returns the processing status it reported
  // ("" for a duplicate).
  std::string deliver_ok(const std::string& body) const;

  TestResponse get_subscription(const std::string& account) const;
  TestResponse get_credits(const std::string& account) const;
  TestResponse post_checkout(const std::string& account, const std::string& body,
                             const std::optional<std::string>& idempotency_key) const;

  // The inbox row of a Stripe event: "" when not stored, else its processing status.
  std::string processing_status(const std::string& event_id) const;
  std::string processing_column(const std::string& event_id, const std::string& column) const;
  int64_t deliveries_stored() const;
  // Polls processing_status until it equals `status` or `timeout_ms` passes.
  bool wait_for_status(const std::string& event_id, const std::string& status,
                       int64_t timeout_ms) const;
  // The account's events as "Type payload" lines, in stream order.
  std::vector<std::string> event_lines(const std::string& account) const;

  std::unique_ptr<testing_support::FakeHttpServer> stripe_;
  std::string plans_path_;
};

}  // namespace billing_tests
