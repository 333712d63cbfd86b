// POST /api/v1/billing/webhooks/stripe: the signature is checked over the raw body before
// anything else; a refused delivery is 400 invalid_signature and stores nothing, so the same
// event correctly signed afterwards is a first delivery, not a duplicate.
#include <gtest/gtest.h>

#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"
#include "webhooks/signature.h"

namespace billing_tests {
namespace {

class WebhookSignatureTest : public BillingTest {
 protected:
  std::string event_body(const std::string& event_id) const {
    return checkout_completed(event_id, now_s(), subscriber(event_id), "pro");
  }

  // The refused delivery stored nothing: the same body correctly signed is then new.
  void expect_refused_then_accepted(const TestResponse& refused, const std::string& event_id,
                                    const std::string& body) {
    EXPECT_EQ(refused.status, 400) << refused.body;
    EXPECT_EQ(http_tests::error_code(refused), "invalid_signature");
    EXPECT_EQ(processing_status(event_id), "");
    EXPECT_EQ(deliveries_stored(), 0);
    const TestResponse accepted = deliver(body);
    EXPECT_EQ(accepted.status, 200) << accepted.body;
    EXPECT_NE(accepted.body.find(R"("duplicate":false)"), std::string::npos) << accepted.body;
    EXPECT_EQ(processing_status(event_id), "processed");
  }
};

TEST_F(WebhookSignatureTest, ValidSignatureIsAcceptedAndApplied) {
  const std::string body = event_body("evt_sig_valid");
  const TestResponse response = deliver(body);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body,
            R"({"received":true,"duplicate":false,"status":"processed","note":"applied"})");
  EXPECT_EQ(balance_row("acct-evt_sig_valid")->plan_id, "pro");
}

TEST_F(WebhookSignatureTest, WrongSecretIsRefused) {
  const std::string body = event_body("evt_sig_wrong_secret");
  expect_refused_then_accepted(deliver(body, "whsec_someone_else"), "evt_sig_wrong_secret", body);
}

TEST_F(WebhookSignatureTest, TimestampOlderThan300SecondsIsRefused) {
  const std::string body = event_body("evt_sig_old");
  expect_refused_then_accepted(deliver(body, kWebhookSecret, now_s() - 301), "evt_sig_old", body);
  // Just inside the tolerance is fine (a second event: the first is stored now).
  const std::string recent = event_body("evt_sig_recent");
  EXPECT_EQ(deliver(recent, kWebhookSecret, now_s() - 290).status, 200);
}

TEST_F(WebhookSignatureTest, TamperedBodyIsRefused) {
  const std::string body = event_body("evt_sig_tampered");
  std::string tampered = body;
  tampered.replace(tampered.find(R"("plan_id": "pro")"), 16, R"("plan_id": "biz")");
  const std::string header = webhooks::stripe_signature_header(kWebhookSecret, now_s(), body);
  expect_refused_then_accepted(deliver_with_header(tampered, header), "evt_sig_tampered", body);
  // One byte of whitespace is a different body too: the raw bytes are what is signed.
  EXPECT_EQ(deliver_with_header(body + "\n", header).status, 400);
}

TEST_F(WebhookSignatureTest, MissingHeaderIsRefused) {
  const std::string body = event_body("evt_sig_missing");
  expect_refused_then_accepted(deliver_with_header(body, std::nullopt), "evt_sig_missing", body);
}

TEST_F(WebhookSignatureTest, GarbageHeadersAreRefused) {
  const std::string body = event_body("evt_sig_garbage");
  const std::vector<std::string> headers = {"garbage",
                                            "t=,v1=",
                                            "t=abc,v1=deadbeef",
                                            "v1=" + std::string(64, 'a'),
                                            "t=" + std::to_string(now_s()),
                                            "t=1,t=2,v1=00",
                                            std::string(9000, 'x')};
  for (const std::string& header : headers) {
    const TestResponse response = deliver_with_header(body, header);
    EXPECT_EQ(response.status, 400) << header.substr(0, 40);
    EXPECT_EQ(http_tests::error_code(response), "invalid_signature");
  }
  expect_refused_then_accepted(deliver_with_header(body, "t=1700000000,v0=abc"), "evt_sig_garbage",
                               body);
}

TEST_F(WebhookSignatureTest, TwoV1SignaturesOfWhichOneIsValid) {
  const std::string body = event_body("evt_sig_two_v1");
  const int64_t t = now_s();
  const std::string valid = webhooks::stripe_signature_header(kWebhookSecret, t, body);
  const std::string valid_v1 = valid.substr(valid.find("v1="));
  const std::string header = "t=" + std::to_string(t) + ",v1=" + std::string(64, '0') + "," +
                             valid_v1 + ",v0=" + std::string(64, 'f');
  const TestResponse response = deliver_with_header(body, header);
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(processing_status("evt_sig_two_v1"), "processed");
}

TEST_F(WebhookSignatureTest, SecondOfTwoConfiguredSecretsIsAccepted) {
  const std::string body = event_body("evt_sig_rotated");
  const TestResponse response = deliver(body, kWebhookSecretRotated);
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(processing_status("evt_sig_rotated"), "processed");
}

TEST_F(WebhookSignatureTest, BodyThatIsNotAStripeEventIsInvalidPayload) {
  const std::vector<std::string> bodies = {
      "not json", R"({"hello":"world"})",
      R"({"id":"evt_x","type":"invoice.paid","created":1,"data":{"object":{}}})"};
  for (const std::string& body : bodies) {
    const TestResponse response = deliver(body);
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_EQ(http_tests::error_code(response), "invalid_payload");
  }
  EXPECT_EQ(deliveries_stored(), 0);
}

// STRIPE_WEBHOOK_SECRET (not a flag) configures the secrets, comma-separated.
TEST(WebhookSecretEnvironment, SecretsComeFromStripeWebhookSecret) {
  testing_support::TestDatabase database;
  testing_support::LedgerdOptions options;
  options.database_url = database.url();
  options.env["STRIPE_WEBHOOK_SECRET"] = "whsec_env_old, whsec_env_new";
  testing_support::LedgerdProcess ledgerd(options);
  const std::string body = checkout_completed("evt_env", now_s(), subscriber("env"), "pro");
  const auto post = [&](const std::string& secret) {
    return testing_support::http_post(
        ledgerd.base_url() + "/api/v1/billing/webhooks/stripe",
        {{"Stripe-Signature", webhooks::stripe_signature_header(secret, now_s(), body)}}, body);
  };
  EXPECT_EQ(post("whsec_flag_only").status, 400);
  EXPECT_EQ(post("whsec_env_new").status, 200);
  EXPECT_EQ(post("whsec_env_old").body, R"({"received":true,"duplicate":true})");
}

}  // namespace
}  // namespace billing_tests
