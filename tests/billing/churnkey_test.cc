// Churnkey deliveries end to end: the real ledgerd, a real PostgreSQL and a fake Stripe API.
// A cancellation from either payload shape is recorded in the account's stream, shows as
// cancel_at_period_end at once, and reaches Stripe exactly once (duplicates, a Stripe 500
// retried with the same Idempotency-Key); a delivery before the checkout is parked and
// applied when the checkout links its customer; offers, TEST mode and aborts are recorded
// only; bad or missing signatures and an unset secret store nothing; a Stripe 4xx is given
// up for operators.
#include <gtest/gtest.h>

#include <atomic>
#include <pqxx/pqxx>
#include <thread>

#include "audit/subject.h"
#include "audit/verify.h"
#include "crypto/digest.h"
#include "tests/support/ledgerctl_run.h"
#include "tests/support/test_database.h"
#include "webhooks/inbox_reads.h"
#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"

namespace billing_tests {
namespace {

using http_tests::parse_json;
using http_tests::string_field;
using testing_support::CommandResult;
using testing_support::FakeResponse;
using testing_support::run_ledgerctl;
using testing_support::RecordedRequest;

constexpr const char* kChurnkeySecret = "ck_whsec_primary_7c1d2e3f4a5b6c7d";
constexpr const char* kChurnkeySecretRotated = "ck_whsec_rotated_0a1b2c3d4e5f6a7b";

// Churnkey's documented shape: a session that ended in `result`.
std::string session_body(const std::string& customer, const std::string& result,
                         const std::string& mode = "LIVE") {
  return R"({"event":"session","data":{"customer":{"id":")" + customer +
         R"(","email":"buyer@example.com"},"session":{"_id":"sess_)" + customer +
         R"(","result":")" + result +
         R"(","surveyResponse":"too_expensive","feedback":"Great tool, but I only needed it once",)"
         R"("acceptedOffer":{"offerType":"PAUSE","pauseDuration":2},"mode":")" +
         mode + R"("}}})";
}

// The seed documents' shape.
std::string cancellation_accepted(const std::string& id, const Subscriber& who) {
  return R"({"type":"cancellation.accepted","id":")" + id + R"(","data":{"customer_id":")" +
         who.customer + R"(","subscription_id":")" + who.subscription +
         R"(","reason":"too_expensive"}})";
}

class ChurnkeyTest : public BillingTest {
 protected:
  void SetUp() override {
    BillingTest::SetUp();
    stripe_->set_handler([this](const RecordedRequest& request) { return answer(request); });
  }

  std::vector<std::string> ledgerd_flags() const override {
    std::vector<std::string> flags = BillingTest::ledgerd_flags();
    flags.push_back(std::string("--churnkey_webhook_secret=") + kChurnkeySecret + "," +
                    kChurnkeySecretRotated);
    return flags;
  }

  FakeResponse answer(const RecordedRequest& request) {
    if (request.path.rfind("/v1/subscriptions/", 0) != 0) return checkout_session_created(request);
    if (stripe_refusals_.fetch_sub(1) > 0) {
      return stripe_error(400, "invalid_request_error", "resource_missing", "No such subscription");
    }
    if (stripe_failures_.fetch_sub(1) > 0) {
      return stripe_error(500, "api_error", "", "Something went wrong on Stripe's end.");
    }
    const std::string id = request.path.substr(std::string("/v1/subscriptions/").size());
    return FakeResponse::json(
        200, R"({"id":")" + id + R"(","object":"subscription","cancel_at_period_end":true})");
  }

  TestResponse deliver_with_signature(const std::string& body,
                                      const std::optional<std::string>& signature) const {
    TestHeaders headers = {{"Content-Type", "application/json"}};
    if (signature) headers.emplace_back("X-Churnkey-Signature", *signature);
    return testing_support::http_post(url("/api/v1/billing/webhooks/churnkey"), headers, body);
  }
  TestResponse deliver_churnkey(const std::string& body,
                                const std::string& secret = kChurnkeySecret) const {
    return deliver_with_signature(body, crypto::hex_encode(crypto::hmac_sha256(secret, body)));
  }

  void subscribe(const Subscriber& who, const std::string& tag) const {
    ASSERT_EQ(deliver_ok(checkout_completed("evt_" + tag + "_checkout", period0_s_, who, "pro")),
              "processed");
  }

  std::vector<RecordedRequest> cancellations(const Subscriber& who) const {
    return stripe_->requests_to("/v1/subscriptions/" + who.subscription);
  }
  bool wait_for_cancellations(const Subscriber& who, std::size_t count) const {
    for (int i = 0; i < 200 && cancellations(who).size() < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return cancellations(who).size() >= count;
  }

  bool cancel_at_period_end(const Subscriber& who) const {
    const std::string body = get_subscription(who.account).body;
    return body.find(R"("cancel_at_period_end":true)") != std::string::npos;
  }

  int64_t churnkey_deliveries() const {
    auto connection = database_->connect();
    pqxx::read_transaction work(*connection);
    return work.exec1("SELECT count(*) FROM webhook_deliveries WHERE provider = 'churnkey'")[0]
        .as<int64_t>();
  }

  // (delivered, attempts, last_error) of the account's cancellation message.
  std::tuple<bool, int, std::string> outbox_row(const std::string& account) const {
    auto connection = database_->connect();
    pqxx::read_transaction work(*connection);
    const pqxx::result rows = work.exec_params(
        "SELECT delivered_at IS NOT NULL, attempts, coalesce(last_error, '') FROM ledger_outbox"
        " WHERE account_id = $1 AND kind = 'stripe.cancel_at_period_end'",
        account);
    EXPECT_EQ(rows.size(), 1u);
    if (rows.size() != 1u) return {false, 0, ""};
    return {rows[0][0].as<bool>(), rows[0][1].as<int>(), rows[0][2].as<std::string>()};
  }

  // What `ledgerctl export-subject ACCOUNT` prints.
  std::string export_subject(const std::string& account) const {
    return audit::export_subject(*connect_ledger_database(), account, std::nullopt);
  }

  std::string recorded_events(const std::string& account) const {
    std::string all;
    for (const std::string& line : event_lines(account)) {
      if (line.rfind("ChurnkeySessionRecorded ", 0) == 0) all += line + "\n";
    }
    return all;
  }

  const int64_t period0_s_ = now_s() - 10 * kDayS;
  std::atomic<int> stripe_failures_{0};
  std::atomic<int> stripe_refusals_{0};
};

TEST_F(ChurnkeyTest, ACancellationReachesStripeOnceAcrossFiveDuplicateDeliveries) {
  const Subscriber who = subscriber("ckdup");
  subscribe(who, "ckdup");
  const auto credits_before = balance_row(who.account);
  const std::string body = session_body(who.customer, "cancel");
  std::atomic<int> first{0};
  std::vector<std::thread> senders;
  for (int i = 0; i < 5; ++i) {
    senders.emplace_back([&] {
      const TestResponse response = deliver_churnkey(body);
      EXPECT_EQ(response.status, 200) << response.body;
      if (response.body.find(R"("duplicate":false)") != std::string::npos) {
        ++first;
        EXPECT_NE(response.body.find(R"("status":"processed","note":"cancel_requested")"),
                  std::string::npos)
            << response.body;
      }
    });
  }
  for (auto& sender : senders) sender.join();
  EXPECT_EQ(first.load(), 1);
  EXPECT_EQ(churnkey_deliveries(), 1);
  // Pending at once, before Stripe said anything.
  EXPECT_TRUE(cancel_at_period_end(who));
  ASSERT_TRUE(wait_for_cancellations(who, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto calls = cancellations(who);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].body, "cancel_at_period_end=true");
  const std::string expected_key =
      "churnkey-cancel-" +
      crypto::hex_encode(crypto::sha256("sha256:" + crypto::hex_encode(crypto::sha256(body))));
  EXPECT_EQ(calls[0].header("Idempotency-Key").value_or(""), expected_key);
  EXPECT_EQ(calls[0].header("Authorization").value_or(""), std::string("Bearer ") + kStripeApiKey);
  // Recorded with what the customer said; credits and plan untouched.
  const std::string recorded = recorded_events(who.account);
  EXPECT_NE(recorded.find(R"("result":"cancel")"), std::string::npos) << recorded;
  EXPECT_NE(recorded.find(R"("action":"cancel_requested")"), std::string::npos);
  // What the customer said is sealed under the account's key; the export opens it.
  EXPECT_EQ(recorded.find("too_expensive"), std::string::npos) << recorded;
  EXPECT_EQ(recorded.find("only needed it once"), std::string::npos) << recorded;
  EXPECT_NE(recorded.find(R"("feedback":"sealed:)"), std::string::npos) << recorded;
  const std::string exported = export_subject(who.account);
  EXPECT_NE(exported.find(R"("survey_response":"too_expensive")"), std::string::npos) << exported;
  EXPECT_NE(exported.find("only needed it once"), std::string::npos) << exported;
  EXPECT_EQ(balance_row(who.account)->credits_available, credits_before->credits_available);
  EXPECT_EQ(string_field(parse_json(get_subscription(who.account).body), "plan"), "pro");
  // Stripe's own update confirms it; nothing moves until the subscription is deleted.
  EXPECT_EQ(deliver_ok(subscription_event("customer.subscription.updated", "evt_ckdup_upd",
                                          now_s(), who, "price_pro_monthly", "active",
                                          period0_s_, true, Shape::kBasil)),
            "processed");
  EXPECT_TRUE(cancel_at_period_end(who));
  EXPECT_EQ(balance_row(who.account)->credits_available, credits_before->credits_available);
  // The log alone gives the same: verify is clean, and projections replayed from it still
  // show the pending cancellation.
  const audit::VerifyReport report = audit::verify_ledger(*connect_ledger_database());
  EXPECT_TRUE(report.clean) << report.problem << " " << report.stream_id;
  EXPECT_GE(audit::replay_projections(*connect_ledger_database()), 1);
  EXPECT_TRUE(cancel_at_period_end(who));
}

// `ledgerctl redact`: the account's Stripe deliveries (e-mail and name in the checkout) and
// its Churnkey answers become unreadable, nothing of them is in a pg_dump before or after,
// and balances, events and hash chains stay as they were.
TEST_F(ChurnkeyTest, RedactErasesTheAccountsPersonalDataAndKeepsTheLedger) {
  const Subscriber who = subscriber("ckredact");
  subscribe(who, "ckredact");
  ASSERT_EQ(deliver_churnkey(session_body(who.customer, "cancel")).status, 200);
  const std::vector<std::string> personal = {"buyer@example.com", "Ada Buyer",
                                             "only needed it once", "too_expensive"};
  // Sealed from the start: no plaintext in the database even before the erasure.
  std::string dump = testing_support::pg_dump(database_->url());
  for (const std::string& text : personal) EXPECT_EQ(dump.find(text), std::string::npos) << text;
  // The subject's export opens it while the keys exist.
  const CommandResult before = run_ledgerctl({"export-subject", who.account}, database_->url());
  ASSERT_EQ(before.exit_code, 0) << before.err;
  for (const std::string& text : personal) {
    EXPECT_NE(before.out.find(text), std::string::npos) << text << "\n" << before.out;
  }
  EXPECT_TRUE(webhooks::read_customer_email(*connect_ledger_database(), who.account,
                                            [](std::string_view) { return true; }));
  const auto credits_before = balance_row(who.account);
  const std::size_t events_before = event_lines(who.account).size();

  const CommandResult redacted = run_ledgerctl({"redact", who.account}, database_->url());
  ASSERT_EQ(redacted.exit_code, 0) << redacted.err;
  const auto report = parse_json(redacted.out);
  EXPECT_EQ(http_tests::int_field(report, "deliveries_erased"), 2) << redacted.out;
  EXPECT_TRUE(report["subject_key_erased"].GetBool());
  EXPECT_EQ(http_tests::int_field(report, "plaintext_deliveries_left"), 0);

  const CommandResult after = run_ledgerctl({"export-subject", who.account}, database_->url());
  ASSERT_EQ(after.exit_code, 0) << after.err;
  for (const std::string& text : personal) {
    EXPECT_EQ(after.out.find(text), std::string::npos) << text << "\n" << after.out;
  }
  EXPECT_EQ(after.out.find(R"("erased":false)"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find(R"("scope":"account")"), std::string::npos) << after.out;
  dump = testing_support::pg_dump(database_->url());
  for (const std::string& text : personal) EXPECT_EQ(dump.find(text), std::string::npos) << text;
  EXPECT_FALSE(webhooks::read_customer_email(*connect_ledger_database(), who.account,
                                             [](std::string_view) { return true; }));
  // The ledger: one PersonalDataErased more, the same balance, chains and projections clean.
  const std::vector<std::string> events = event_lines(who.account);
  ASSERT_EQ(events.size(), events_before + 1);
  EXPECT_EQ(events.back().rfind("PersonalDataErased ", 0), 0u) << events.back();
  EXPECT_EQ(balance_row(who.account)->credits_available, credits_before->credits_available);
  const audit::VerifyReport verified = audit::verify_ledger(*connect_ledger_database());
  EXPECT_TRUE(verified.clean) << verified.problem << " " << verified.stream_id;
  // Stripe deliveries after the erasure are applied as usual (new data, a new key).
  EXPECT_EQ(deliver_ok(subscription_event("customer.subscription.updated", "evt_ckredact_upd",
                                          now_s(), who, "price_pro_monthly", "active",
                                          period0_s_, true, Shape::kBasil)),
            "processed");
  // An account the ledger does not know: refused, nothing erased or written.
  const CommandResult unknown = run_ledgerctl({"redact", "acct-nobody"}, database_->url());
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("account_not_found"), std::string::npos) << unknown.err;
  EXPECT_TRUE(event_lines("acct-nobody").empty());
}

TEST_F(ChurnkeyTest, TheSeedShapeCancelsAndAStripe500IsRetriedWithTheSameKey) {
  stripe_failures_.store(1);
  const Subscriber who = subscriber("ckseed");
  subscribe(who, "ckseed");
  const TestResponse response = deliver_churnkey(cancellation_accepted("ck_evt_seed", who));
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_TRUE(cancel_at_period_end(who));
  ASSERT_TRUE(wait_for_cancellations(who, 2)) << "the 500 was not retried";
  const auto calls = cancellations(who);
  const std::string key = "churnkey-cancel-" + crypto::hex_encode(crypto::sha256("ck_evt_seed"));
  EXPECT_EQ(calls[0].header("Idempotency-Key").value_or(""), key);
  EXPECT_EQ(calls[1].header("Idempotency-Key").value_or(""), key);
  for (int i = 0; i < 100 && !std::get<0>(outbox_row(who.account)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto [delivered, attempts, last_error] = outbox_row(who.account);
  EXPECT_TRUE(delivered);
  EXPECT_EQ(attempts, 2);
  // The same delivery id again: a duplicate, no third call.
  EXPECT_EQ(deliver_churnkey(cancellation_accepted("ck_evt_seed", who)).body,
            R"({"received":true,"duplicate":true})");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(cancellations(who).size(), 2u);
}

TEST_F(ChurnkeyTest, ACancellationOfAnotherSubscriptionIsRecordedOnly) {
  const Subscriber who = subscriber("ckother");
  subscribe(who, "ckother");
  Subscriber old_subscription = who;
  old_subscription.subscription = "sub_ckother_2019";
  const TestResponse response =
      deliver_churnkey(cancellation_accepted("ck_evt_other", old_subscription));
  EXPECT_NE(response.body.find(R"("note":"other_subscription")"), std::string::npos)
      << response.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(cancellations(who).empty());
  EXPECT_TRUE(cancellations(old_subscription).empty());
  EXPECT_FALSE(cancel_at_period_end(who));
}

TEST_F(ChurnkeyTest, ADeliveryBeforeTheCheckoutIsParkedThenApplied) {
  const Subscriber who = subscriber("ckearly");
  const TestResponse early = deliver_churnkey(session_body(who.customer, "cancel"));
  EXPECT_EQ(early.status, 200);
  EXPECT_NE(early.body.find(R"("status":"parked","note":"account_unresolved")"),
            std::string::npos)
      << early.body;
  EXPECT_EQ(event_count(who.account), 0) << "nothing is written for an unknown customer";
  subscribe(who, "ckearly");  // links cus_ckearly: the parked delivery is applied at once
  EXPECT_TRUE(cancel_at_period_end(who));
  EXPECT_NE(recorded_events(who.account).find(R"("action":"cancel_requested")"),
            std::string::npos);
  EXPECT_TRUE(wait_for_cancellations(who, 1));
}

TEST_F(ChurnkeyTest, OffersTestModeAndAbortsAreRecordedOnly) {
  const Subscriber who = subscriber("ckoffer");
  subscribe(who, "ckoffer");
  for (const char* result : {"pause", "discount", "abort"}) {
    const TestResponse response = deliver_churnkey(session_body(who.customer, result));
    EXPECT_NE(response.body.find(R"("note":"recorded")"), std::string::npos) << response.body;
  }
  const TestResponse test_mode = deliver_churnkey(session_body(who.customer, "cancel", "TEST"));
  EXPECT_NE(test_mode.body.find(R"("note":"test_mode")"), std::string::npos) << test_mode.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(cancellations(who).empty());
  EXPECT_FALSE(cancel_at_period_end(who));
  const std::string recorded = recorded_events(who.account);
  EXPECT_NE(recorded.find(R"("result":"pause")"), std::string::npos) << recorded;
  EXPECT_NE(recorded.find(R"("offer_type":"PAUSE")"), std::string::npos) << recorded;
  EXPECT_NE(recorded.find(R"("result":"abort")"), std::string::npos) << recorded;
  EXPECT_NE(recorded.find(R"("test_mode":true)"), std::string::npos) << recorded;
}

TEST_F(ChurnkeyTest, BadOrMissingSignaturesStoreNothing) {
  const Subscriber who = subscriber("cksig");
  subscribe(who, "cksig");
  const std::string body = session_body(who.customer, "cancel");
  const std::string good = crypto::hex_encode(crypto::hmac_sha256(kChurnkeySecret, body));
  for (const std::optional<std::string>& signature :
       std::vector<std::optional<std::string>>{
           std::nullopt, std::string(), std::string(64, '0'),
           crypto::hex_encode(crypto::hmac_sha256("another secret", body)),
           good.substr(0, 63), good + "0"}) {
    const TestResponse response = deliver_with_signature(body, signature);
    EXPECT_EQ(response.status, 401) << signature.value_or("(none)");
    EXPECT_EQ(parse_json(response.body)["error"].GetString(), std::string("invalid_signature"));
  }
  // Signed for another body: refused.
  EXPECT_EQ(deliver_with_signature(session_body(who.customer, "pause"), good).status, 401);
  EXPECT_EQ(churnkey_deliveries(), 0);
  EXPECT_FALSE(cancel_at_period_end(who));
  // The rotated secret, and the "sha256=" prefix in upper case hex, are accepted.
  EXPECT_EQ(deliver_churnkey(body, kChurnkeySecretRotated).status, 200);
  std::string upper = crypto::hex_encode(crypto::hmac_sha256(kChurnkeySecret, body + " "));
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(deliver_with_signature(body + " ", "sha256=" + upper).status, 200);
  EXPECT_EQ(churnkey_deliveries(), 2);
  // Valid signature, not a Churnkey event: 400, nothing stored.
  const std::string not_an_event = R"({"hello":"world"})";
  EXPECT_EQ(deliver_churnkey(not_an_event).status, 400);
  EXPECT_EQ(churnkey_deliveries(), 2);
}

TEST_F(ChurnkeyTest, AnIdThatIsNotAPlainIdIsReplacedByTheBodysHash) {
  const Subscriber who = subscriber("ckid");
  subscribe(who, "ckid");
  for (const std::string& id : {std::string("ck evt with spaces"), std::string(129, 'k')}) {
    const std::string body = R"({"type":"offer.accepted","id":")" + id +
                             R"(","data":{"customer_id":")" + who.customer +
                             R"(","offer_type":"PAUSE"}})";
    ASSERT_EQ(deliver_churnkey(body).status, 200);
    auto connection = database_->connect();
    pqxx::read_transaction work(*connection);
    const pqxx::result rows = work.exec_params(
        "SELECT provider_event_id FROM webhook_deliveries WHERE provider = 'churnkey'"
        " AND provider_event_id = $1",
        "sha256:" + crypto::hex_encode(crypto::sha256(body)));
    EXPECT_EQ(rows.size(), 1u) << id;
  }
  EXPECT_EQ(churnkey_deliveries(), 2);
}

TEST_F(ChurnkeyTest, WithoutASecretEveryDeliveryIsRefused) {
  restart_ledgerd(BillingTest::ledgerd_flags());
  const Subscriber who = subscriber("cknosecret");
  subscribe(who, "cknosecret");
  const std::string body = session_body(who.customer, "cancel");
  EXPECT_EQ(deliver_churnkey(body).status, 401);
  EXPECT_EQ(deliver_with_signature(body, crypto::hex_encode(crypto::hmac_sha256("", body))).status,
            401);
  EXPECT_EQ(churnkey_deliveries(), 0);
}

TEST_F(ChurnkeyTest, AStripeRefusalIsGivenUpForOperators) {
  stripe_refusals_.store(1);
  const Subscriber who = subscriber("ckrefused");
  subscribe(who, "ckrefused");
  EXPECT_EQ(deliver_churnkey(session_body(who.customer, "cancel")).status, 200);
  ASSERT_TRUE(wait_for_cancellations(who, 1));
  std::string last_error;
  for (int i = 0; i < 100 && last_error.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    last_error = std::get<2>(outbox_row(who.account));
  }
  EXPECT_EQ(last_error.rfind("permanent: stripe 400 invalid_request_error resource_missing", 0),
            0u)
      << last_error;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(cancellations(who).size(), 1u) << "a refused call is not repeated";
  EXPECT_FALSE(std::get<0>(outbox_row(who.account)));
}

}  // namespace
}  // namespace billing_tests
