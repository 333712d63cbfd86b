// The payment-failed e-mail over SMTP, end to end: a Stripe invoice.payment_failed delivery
// -> the outbox -> ledgerd's SMTP client -> a fake mail server on loopback. The message goes
// to the address of the account's latest Stripe data, once; a refused attempt is retried;
// without an address it stays undelivered with the reason; bad SMTP settings stop start-up.
#include <gtest/gtest.h>

#include <ctime>
#include <pqxx/pqxx>
#include <thread>

#include "crypto/digest.h"
#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"
#include "tests/support/fake_smtp_server.h"

namespace billing_tests {
namespace {

constexpr const char* kSender = "billing@ledger.example";
constexpr const char* kChurnkeySecret = "ck_whsec_for_the_email_tests_0123";

class EmailTest : public BillingTest {
 protected:
  void SetUp() override {
    smtp_ = std::make_unique<testing_support::FakeSmtpServer>();
    BillingTest::SetUp();
  }
  void TearDown() override {
    BillingTest::TearDown();
    smtp_.reset();
  }
  // Pro warns below 9,000 of its 10,000 credits.
  std::string plans_json() const override {
    std::string plans = billing_plans_json();
    const std::string pro = R"("id": "pro", "monthly_credits": 10000,)";
    const std::size_t at = plans.find(pro);
    EXPECT_NE(at, std::string::npos);
    return plans.insert(at + pro.size(), R"( "low_balance_threshold": 9000,)");
  }
  std::vector<std::string> ledgerd_flags() const override {
    std::vector<std::string> flags = BillingTest::ledgerd_flags();
    flags.push_back("--smtp_url=" + smtp_->url());
    flags.push_back(std::string("--smtp_from=") + kSender);
    flags.push_back("--smtp_timeout_ms=3000");
    flags.push_back(std::string("--churnkey_webhook_secret=") + kChurnkeySecret);
    return flags;
  }

  void fail_payment(const Subscriber& who, const std::string& tag) const {
    ASSERT_EQ(deliver_ok(checkout_completed("evt_" + tag + "_0", period0_s_ + 10, who, "pro")),
              "processed");
    ASSERT_EQ(deliver_ok(invoice_event("invoice.payment_failed", "evt_" + tag + "_1",
                                       period0_s_ + kMonthS + 60, who, "price_pro_monthly",
                                       "subscription_cycle", period0_s_ + kMonthS,
                                       Shape::kBasil)),
              "processed");
  }

  // (delivered, attempts, last_error) of the account's one payment-failed message.
  std::tuple<bool, int, std::string> outbox_row(const std::string& account) const {
    auto connection = database_->connect();
    pqxx::read_transaction work(*connection);
    const pqxx::result rows = work.exec_params(
        "SELECT delivered_at IS NOT NULL, attempts, coalesce(last_error, '') FROM ledger_outbox"
        " WHERE account_id = $1 AND kind = 'email.payment_failed'",
        account);
    EXPECT_EQ(rows.size(), 1u);
    if (rows.size() != 1u) return {false, 0, ""};
    return {rows[0][0].as<bool>(), rows[0][1].as<int>(), rows[0][2].as<std::string>()};
  }

  bool wait_delivered(const std::string& account, int64_t timeout_ms) const {
    for (int64_t waited = 0; waited < timeout_ms; waited += 50) {
      if (std::get<0>(outbox_row(account))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::get<0>(outbox_row(account));
  }

  const int64_t period0_s_ = now_s() - 20 * kDayS;
  std::unique_ptr<testing_support::FakeSmtpServer> smtp_;
};

// A reservation that takes the balance below the plan's threshold sends one warning; the
// next reservation, still below, sends none.
TEST_F(EmailTest, LowBalanceWarningOncePerCrossing) {
  const Subscriber who = subscriber("low");
  ASSERT_EQ(deliver_ok(checkout_completed("evt_low_0", period0_s_ + 10, who, "pro")), "processed");
  const auto reserve = [&](int64_t amount, const std::string& key) {
    return testing_support::http_post(
        url("/api/v1/credits/reservations"), with_key(bearer(token(who.account)), key),
        R"({"amount":)" + std::to_string(amount) + R"(,"feature":"humanize"})");
  };
  ASSERT_EQ(reserve(900, "low-1").status, 201);  // 10,000 -> 9,100
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(smtp_->messages().empty());
  ASSERT_EQ(reserve(200, "low-2").status, 201);  // -> 8,900: below 9,000
  ASSERT_EQ(reserve(200, "low-3").status, 201);  // -> 8,700: still below, no repeat
  ASSERT_TRUE(smtp_->wait_for_messages(1, 10'000));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto messages = smtp_->messages();
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].recipients.size(), 1u);
  EXPECT_EQ(messages[0].recipients[0], "buyer@example.com");
  const std::string& data = messages[0].data;
  EXPECT_NE(data.find("Subject: Your credits are running low\r\n"), std::string::npos) << data;
  EXPECT_NE(data.find("8900 credits left, below the 9000"), std::string::npos) << data;
  EXPECT_NE(data.find("Account: " + who.account), std::string::npos) << data;
}

TEST_F(EmailTest, PaymentFailedEmailReachesTheCustomerOnce) {
  const Subscriber who = subscriber("mail");
  fail_payment(who, "mail");
  ASSERT_TRUE(smtp_->wait_for_messages(1, 10'000));
  ASSERT_TRUE(wait_delivered(who.account, 5'000));
  const auto messages = smtp_->messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].mail_from, kSender);
  ASSERT_EQ(messages[0].recipients.size(), 1u);
  EXPECT_EQ(messages[0].recipients[0], "buyer@example.com");
  const std::string& data = messages[0].data;
  EXPECT_NE(data.find("To: <buyer@example.com>\r\n"), std::string::npos) << data;
  EXPECT_NE(data.find("Subject: Your payment did not go through\r\n"), std::string::npos);
  EXPECT_NE(data.find("invoice in_evt_mail_1"), std::string::npos) << data;
  EXPECT_NE(data.find("Account: " + who.account), std::string::npos) << data;
  // The duplicate delivery of the failure queues nothing more.
  EXPECT_EQ(deliver(invoice_event("invoice.payment_failed", "evt_mail_1",
                                  period0_s_ + kMonthS + 60, who, "price_pro_monthly",
                                  "subscription_cycle", period0_s_ + kMonthS, Shape::kBasil))
                .body,
            R"({"received":true,"duplicate":true})");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(smtp_->messages().size(), 1u);
  EXPECT_EQ(std::get<1>(outbox_row(who.account)), 1);
}

TEST_F(EmailTest, AChurnkeyCancellationIsConfirmedByEmail) {
  const Subscriber who = subscriber("bye");
  ASSERT_EQ(deliver_ok(checkout_completed("evt_bye_0", period0_s_ + 10, who, "pro")), "processed");
  ASSERT_EQ(deliver_ok(subscription_event("customer.subscription.updated", "evt_bye_1",
                                          period0_s_ + 20, who, "price_pro_monthly", "active",
                                          period0_s_, false, Shape::kBasil)),
            "processed");
  const std::time_t end = static_cast<std::time_t>(period0_s_ + kMonthS);
  std::tm utc{};
  gmtime_r(&end, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", &utc);
  const std::string body = R"({"event":"session","data":{"customer":{"id":")" + who.customer +
                           R"("},"session":{"result":"cancel","mode":"LIVE"}}})";
  const TestResponse response = testing_support::http_post(
      url("/api/v1/billing/webhooks/churnkey"),
      {{"X-Churnkey-Signature", crypto::hex_encode(crypto::hmac_sha256(kChurnkeySecret, body))}},
      body);
  ASSERT_EQ(response.status, 200) << response.body;
  ASSERT_TRUE(smtp_->wait_for_messages(1, 10'000));
  const auto messages = smtp_->messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].recipients.at(0), "buyer@example.com");
  EXPECT_NE(messages[0].data.find("Subject: Your subscription has been cancelled\r\n"),
            std::string::npos)
      << messages[0].data;
  EXPECT_NE(messages[0].data.find(std::string("until ") + date + " (UTC)"), std::string::npos)
      << messages[0].data;
  EXPECT_NE(messages[0].data.find("Account: " + who.account), std::string::npos);
}

TEST_F(EmailTest, ARefusedMessageIsRetriedAndSentOnce) {
  smtp_->refuse_next_data(1);
  const Subscriber who = subscriber("retry");
  fail_payment(who, "retry");
  // The first attempt is refused (451); the outbox retries after its backoff (2 s).
  ASSERT_TRUE(smtp_->wait_for_messages(1, 15'000));
  ASSERT_TRUE(wait_delivered(who.account, 5'000));
  EXPECT_EQ(smtp_->refused(), 1);
  EXPECT_EQ(smtp_->messages().size(), 1u);
  const auto [delivered, attempts, last_error] = outbox_row(who.account);
  EXPECT_TRUE(delivered);
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(last_error, "");
}

TEST_F(EmailTest, WithoutAnAddressTheMessageWaitsWithItsReason) {
  // An outbox message for an account no Stripe delivery ever named.
  {
    auto connection = database_->connect();
    pqxx::work work(*connection);
    work.exec(
        "INSERT INTO ledger_outbox (account_id, message_id, kind, payload) VALUES"
        " ('acct-nomail', '0b0f5a52-9a1e-4b8e-8f3c-6d1d2c3b4a59', 'email.payment_failed',"
        " '{\"account_id\":\"acct-nomail\",\"invoice_id\":\"in_1\"}')");
    work.commit();
  }
  std::string last_error;
  for (int i = 0; i < 100 && last_error.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    last_error = std::get<2>(outbox_row("acct-nomail"));
  }
  EXPECT_EQ(last_error, "no e-mail address known for the account yet");
  EXPECT_FALSE(std::get<0>(outbox_row("acct-nomail")));
  EXPECT_TRUE(smtp_->messages().empty());
}

TEST_F(EmailTest, BadSmtpSettingsStopStartUp) {
  testing_support::LedgerdOptions options;
  options.database_url = ledgerd_database_url();
  options.extra_flags = {"--smtp_url=http://127.0.0.1:25", std::string("--smtp_from=") + kSender};
  EXPECT_NE(testing_support::start_failure(options).find("SMTP_URL must start with smtp://"),
            std::string::npos);
  options.extra_flags = {"--smtp_url=" + smtp_->url()};
  EXPECT_NE(testing_support::start_failure(options).find("SMTP_FROM must be a plain"),
            std::string::npos);
  options.extra_flags = {"--smtp_url=" + smtp_->url(), "--smtp_from=a@b.co\r\nBcc: x@y.z"};
  EXPECT_NE(testing_support::start_failure(options).find("SMTP_FROM must be a plain"),
            std::string::npos);
  options.extra_flags = {"--smtp_url=" + smtp_->url(), std::string("--smtp_from=") + kSender,
                         "--smtp_timeout_ms=0"};
  EXPECT_NE(testing_support::start_failure(options).find("--smtp_timeout_ms must be 1..120000"),
            std::string::npos);
}

}  // namespace
}  // namespace billing_tests
