// Stripe deliveries over HTTP into the ledger: duplicates change nothing, renewal resets to
// the allowance, upgrade grants the difference once, deletion resets to the free plan with
// reservations still capturable, both payload shapes give the same events, an event for an
// account not known yet is parked and applied once a checkout links it, unhandled types are
// stored and acknowledged, payment failures queue an email, and the subscription route.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "audit/reconcile.h"
#include "audit/verify.h"
#include "crypto/seal.h"
#include "ledger/time_format.h"
#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"

namespace billing_tests {
namespace {

using http_tests::int_field;
using http_tests::parse_json;
using http_tests::string_field;

class WebhookEventsTest : public BillingTest {
 protected:
  int64_t available(const std::string& account) const {
    return balance_row(account)->credits_available;
  }
  int64_t granted(const std::string& account) const {
    return balance_row(account)->credits_granted;
  }
  void expect_ledger_clean() const {
    auto connection = database_->connect();
    const audit::VerifyReport verify = audit::verify_ledger(*database_->connect_pg());
    EXPECT_TRUE(verify.clean) << verify.problem << " " << verify.stream_id;
    const audit::ReconcileReport reconcile = audit::reconcile_stripe(*database_->connect_pg());
    EXPECT_TRUE(reconcile.clean) << reconcile.problem << " " << reconcile.account_id << " "
                                 << reconcile.reference;
  }

  const int64_t period0_s_ = now_s() - 20 * kDayS;
};

TEST_F(WebhookEventsTest, EachDeliverySentFiveTimesHasOneEffect) {
  const Subscriber who = subscriber("dup");
  const std::vector<std::string> life =
      life_of_a_subscription(who, "dup", period0_s_, Shape::kBasil);
  // Four of the five, each once: the reference state.
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(deliver_ok(life[i]), "processed");
  const int64_t events_once = event_count(who.account);
  const auto balance_once = balance_row(who.account);
  const std::vector<std::string> lines_once = event_lines(who.account);
  // Each again four times, sequentially and concurrently: all acknowledged as duplicates.
  for (std::size_t i = 0; i < 4; ++i) {
    for (int repeat = 0; repeat < 2; ++repeat) {
      EXPECT_EQ(deliver(life[i]).body, R"({"received":true,"duplicate":true})");
    }
    std::vector<std::thread> senders;
    for (int repeat = 0; repeat < 2; ++repeat) {
      senders.emplace_back(
          [&, i] { EXPECT_EQ(deliver(life[i]).body, R"({"received":true,"duplicate":true})"); });
    }
    for (auto& sender : senders) sender.join();
  }
  EXPECT_EQ(event_count(who.account), events_once);
  EXPECT_EQ(event_lines(who.account), lines_once);
  EXPECT_EQ(balance_row(who.account)->credits_available, balance_once->credits_available);
  EXPECT_EQ(balance_row(who.account)->credits_granted, balance_once->credits_granted);
  // The fifth, five times at once: exactly one is stored and applied.
  std::atomic<int> first_deliveries{0};
  std::vector<std::thread> senders;
  for (int repeat = 0; repeat < 5; ++repeat) {
    senders.emplace_back([&] {
      const TestResponse response = deliver(life[4]);
      EXPECT_EQ(response.status, 200) << response.body;
      if (response.body.find(R"("duplicate":false)") != std::string::npos) ++first_deliveries;
    });
  }
  for (auto& sender : senders) sender.join();
  EXPECT_EQ(first_deliveries.load(), 1);
  EXPECT_EQ(deliveries_stored(), 5);
  EXPECT_EQ(available(who.account), 300);
  expect_ledger_clean();
}

TEST_F(WebhookEventsTest, RenewalResetsToTheAllowance) {
  const Subscriber who = subscriber("renew");
  ASSERT_EQ(deliver_ok(checkout_completed("evt_renew_0", period0_s_ + 10, who, "pro")),
            "processed");
  ASSERT_EQ(available(who.account), 10'000);
  const std::string token_value = token(who.account);
  const std::string id =
      string_field(parse_json(reserve(token_value, 4'000).body), "reservation_id");
  ASSERT_EQ(capture(token_value, id, 4'000).status, 200);
  ASSERT_EQ(available(who.account), 6'000);
  ASSERT_EQ(deliver_ok(invoice_event("invoice.paid", "evt_renew_1", period0_s_ + kMonthS + 60, who,
                                     "price_pro_monthly", "subscription_cycle",
                                     period0_s_ + kMonthS, Shape::kPre2025)),
            "processed");
  EXPECT_EQ(available(who.account), 10'000);
  const std::vector<std::string> lines = event_lines(who.account);
  ASSERT_GE(lines.size(), 2u);
  // The first period's allowance (bucket b2; b1 was the free allowance) expires; the new one
  // is a bucket of its own that expires at the new period's end.
  EXPECT_EQ(lines[lines.size() - 2],
            R"(CreditsExpired {"amount":6000,"reason":"period reset","bucket_id":"b2"})");
  EXPECT_EQ(lines.back(),
            R"(CreditsGranted {"amount":10000,"reason":"plan allowance",)"
            R"("source":"stripe","period_key":"sub_renew:)" +
                std::to_string(period0_s_ + kMonthS) + R"(","bucket_id":"b3","expires_at_us":)" +
                std::to_string((period0_s_ + 2 * kMonthS) * 1'000'000) + R"(,"priority":50})");
  EXPECT_EQ(processing_column("evt_renew_1", "note"), "applied");
  expect_ledger_clean();
}

TEST_F(WebhookEventsTest, UpgradeGrantsTheDifferenceOnce) {
  const Subscriber who = subscriber("up");
  deliver_ok(checkout_completed("evt_up_0", period0_s_ + 10, who, "pro"));
  deliver_ok(invoice_event("invoice.paid", "evt_up_1", period0_s_ + 11, who, "price_pro_monthly",
                           "subscription_create", period0_s_, Shape::kBasil));
  ASSERT_EQ(available(who.account), 10'000);
  const std::string upgrade =
      subscription_event("customer.subscription.updated", "evt_up_2", period0_s_ + 2 * kDayS, who,
                         "price_business_monthly", "active", period0_s_, false, Shape::kBasil);
  ASSERT_EQ(deliver_ok(upgrade), "processed");
  EXPECT_EQ(balance_row(who.account)->plan_id, "business");
  EXPECT_EQ(available(who.account), 50'000);
  const int64_t granted_after_upgrade = granted(who.account);
  // The same upgrade again, and a later update of the same period on the same price.
  EXPECT_EQ(deliver(upgrade).body, R"({"received":true,"duplicate":true})");
  ASSERT_EQ(deliver_ok(subscription_event("customer.subscription.updated", "evt_up_3",
                                          period0_s_ + 3 * kDayS, who, "price_business_monthly",
                                          "active", period0_s_, true, Shape::kPre2025)),
            "processed");
  EXPECT_EQ(granted(who.account), granted_after_upgrade);
  EXPECT_EQ(available(who.account), 50'000);
  const rapidjson::Document subscription = parse_json(get_subscription(who.account).body);
  EXPECT_EQ(string_field(subscription, "plan"), "business");
  EXPECT_TRUE(subscription["cancel_at_period_end"].GetBool());
  expect_ledger_clean();
}

TEST_F(WebhookEventsTest, DeletionResetsTo300AndReservationsStayCapturable) {
  const Subscriber who = subscriber("del");
  deliver_ok(checkout_completed("evt_del_0", period0_s_ + 10, who, "pro"));
  const std::string token_value = token(who.account);
  const TestResponse reserved = reserve(token_value, 700);
  ASSERT_EQ(reserved.status, 201) << reserved.body;
  const std::string id = string_field(parse_json(reserved.body), "reservation_id");
  ASSERT_EQ(deliver_ok(subscription_event("customer.subscription.deleted", "evt_del_1",
                                          period0_s_ + 9 * kDayS, who, "price_pro_monthly",
                                          "canceled", period0_s_, false, Shape::kBasil)),
            "processed");
  auto balance = balance_row(who.account);
  EXPECT_EQ(balance->plan_id, "free");
  EXPECT_EQ(balance->credits_available, 300);
  EXPECT_EQ(balance->credits_reserved, 700);
  const TestResponse captured = capture(token_value, id, 650);
  ASSERT_EQ(captured.status, 200) << captured.body;
  EXPECT_EQ(captured.body,
            R"({"reservation_id":")" + id +
                R"(","credits_used":650,"credits_released":50,"credits_remaining":350})");
  const rapidjson::Document subscription = parse_json(get_subscription(who.account).body);
  EXPECT_EQ(string_field(subscription, "plan"), "free");
  EXPECT_EQ(string_field(subscription, "status"), "canceled");
  expect_ledger_clean();
}

// Every event of a subscription's life, plus a payment failure, in the pre-2025 shape for
// one account and the 2025-03-31.basil shape for another: the same ledger events.
TEST_F(WebhookEventsTest, BothPayloadShapesProduceTheSameLedgerEvents) {
  for (const auto& [tag, shape] :
       {std::pair{"shapepre", Shape::kPre2025}, std::pair{"shapebasil", Shape::kBasil}}) {
    const Subscriber who = subscriber(tag);
    std::vector<std::string> life = life_of_a_subscription(who, tag, period0_s_, shape);
    life.insert(life.begin() + 4,
                invoice_event("invoice.payment_failed", std::string("evt_") + tag + "_failed",
                              period0_s_ + kMonthS + 5 * kDayS, who, "price_business_monthly",
                              "subscription_cycle", period0_s_ + kMonthS, shape));
    for (const std::string& body : life) EXPECT_EQ(deliver_ok(body), "processed");
  }
  std::vector<std::string> pre = event_lines("acct-shapepre");
  std::vector<std::string> basil = event_lines("acct-shapebasil");
  // The free allowances expire a month after each account's own opening instant.
  const std::regex expiry(R"("expires_at_us":[0-9]+)");
  for (auto* lines : {&pre, &basil}) {
    for (std::string& line : *lines) {
      if (line.find("free plan allowance") != std::string::npos ||
          line.find(":deleted\"") != std::string::npos) {
        line = std::regex_replace(line, expiry, R"("expires_at_us":"a month after opening")");
      }
    }
  }
  for (std::string& line : basil) {
    for (std::size_t at = line.find("shapebasil"); at != std::string::npos;
         at = line.find("shapebasil", at)) {
      line.replace(at, 10, "shapepre");
    }
  }
  EXPECT_EQ(pre, basil);
  std::string all;
  for (const std::string& line : pre) all += line + "\n";
  // 2 opening + checkout 4 + first invoice 1 + upgrade 3 + renewal 4 (the upgrade's and the
  // first period's allowance buckets expire, one event each) + failure 1 + deletion 4.
  EXPECT_EQ(pre.size(), 19u) << all;
  // The subscription-level facts, not only the credits, came through: plan changes, the
  // upgrade period, past_due from the failed payment, the final cancellation.
  EXPECT_NE(all.find("plan upgrade"), std::string::npos);
  EXPECT_NE(all.find(R"("status":"past_due")"), std::string::npos);
  EXPECT_NE(all.find(R"("status":"canceled")"), std::string::npos);
  expect_ledger_clean();
}

TEST_F(WebhookEventsTest, PaymentFailedMarksPastDueAndTheEmailIsDelivered) {
  const Subscriber who = subscriber("fail");
  deliver_ok(checkout_completed("evt_fail_0", period0_s_ + 10, who, "pro"));
  ASSERT_EQ(deliver_ok(invoice_event("invoice.payment_failed", "evt_fail_1",
                                     period0_s_ + kMonthS + 60, who, "price_pro_monthly",
                                     "subscription_cycle", period0_s_ + kMonthS, Shape::kPre2025)),
            "processed");
  EXPECT_EQ(string_field(parse_json(get_subscription(who.account).body), "status"), "past_due");
  auto connection = database_->connect();
  const auto delivered = [&] {
    pqxx::read_transaction work(*connection);
    const pqxx::result rows = work.exec_params(
        "SELECT delivered_at IS NOT NULL, payload::text FROM ledger_outbox"
        " WHERE account_id = $1 AND kind = 'email.payment_failed'",
        who.account);
    EXPECT_EQ(rows.size(), 1u);
    if (rows.size() == 1u) {
      EXPECT_NE(rows[0][1].as<std::string>().find("in_evt_fail_1"), std::string::npos);
    }
    return rows.size() == 1u && rows[0][0].as<bool>();
  };
  for (int i = 0; i < 100 && !delivered(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(delivered());
  EXPECT_NE(ledgerd_->wait_for_log("email.payment_failed").find("email.payment_failed"),
            std::string::npos);
}

TEST_F(WebhookEventsTest, EventForAnUnknownAccountIsParkedThenAppliedAfterTheCheckout) {
  Subscriber who = subscriber("park");
  who.with_metadata = false;  // nothing in the invoice names the account
  const std::string invoice =
      invoice_event("invoice.paid", "evt_park_1", period0_s_ + 11, who, "price_pro_monthly",
                    "subscription_create", period0_s_, Shape::kBasil);
  const TestResponse response = deliver(invoice);
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            R"({"received":true,"duplicate":false,"status":"parked","note":"account_unresolved"})");
  EXPECT_EQ(balance_row(who.account), std::nullopt);
  // The retry loop tries again (backoff 100 ms) and keeps it parked.
  const auto attempts = [&] { return std::stoi(processing_column("evt_park_1", "attempts")); };
  for (int i = 0; i < 100 && attempts() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(attempts(), 2);
  EXPECT_NE(processing_status("evt_park_1"), "processed");
  // The checkout names the account and links subscription and customer to it: the parked
  // invoice is applied at once (before the checkout's answer), whatever its state was.
  who.with_metadata = true;
  ASSERT_EQ(deliver_ok(checkout_completed("evt_park_0", period0_s_ + 10, who, "pro")), "processed");
  EXPECT_EQ(processing_status("evt_park_1"), "processed");
  EXPECT_EQ(processing_column("evt_park_1", "account_id"), who.account);
  EXPECT_EQ(processing_column("evt_park_1", "note"), "period_already_granted");
  EXPECT_EQ(available(who.account), 10'000);
  EXPECT_EQ(granted(who.account), 300 + 10'000);
  // Later events without metadata resolve through the subscription projection directly.
  who.with_metadata = false;
  EXPECT_EQ(deliver_ok(subscription_event("customer.subscription.updated", "evt_park_2",
                                          period0_s_ + kDayS, who, "price_business_monthly",
                                          "active", period0_s_, false, Shape::kPre2025)),
            "processed");
  EXPECT_EQ(balance_row(who.account)->plan_id, "business");
  expect_ledger_clean();
}

TEST_F(WebhookEventsTest, UnresolvableEventFailsAfterTheAttemptLimitAndIsKept) {
  Subscriber who = subscriber("lost");
  who.with_metadata = false;
  deliver_ok(subscription_event("customer.subscription.updated", "evt_lost_1", period0_s_, who,
                                "price_pro_monthly", "active", period0_s_, false, Shape::kBasil));
  ASSERT_TRUE(wait_for_status("evt_lost_1", "failed", 5'000));
  EXPECT_EQ(processing_column("evt_lost_1", "attempts"), std::to_string(kWebhookAttemptsMax));
  EXPECT_EQ(processing_column("evt_lost_1", "note"), "account_unresolved");
  EXPECT_EQ(deliveries_stored(), 1);
  // Never dropped: a link to the subscription brings it back.
  who.with_metadata = true;
  deliver_ok(checkout_completed("evt_lost_0", period0_s_ - 10, who, "pro"));
  EXPECT_EQ(processing_status("evt_lost_1"), "processed");
}

TEST_F(WebhookEventsTest, UnhandledTypesAndNonSubscriptionCheckoutsAreStoredAndIgnored) {
  const std::string customer_body = customer_created("evt_other_1", now_s(), "cus_other");
  const TestResponse response = deliver(customer_body);
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            R"({"received":true,"duplicate":false,"status":"ignored","note":"unhandled_type"})");
  EXPECT_EQ(deliveries_stored(), 1);
  // A checkout whose payment is still pending grants nothing yet (its invoice.paid will).
  const Subscriber who = subscriber("unpaid");
  EXPECT_EQ(deliver_ok(checkout_completed("evt_unpaid", now_s(), who, "pro", "unpaid")), "ignored");
  EXPECT_EQ(processing_column("evt_unpaid", "note"), "checkout_unpaid");
  EXPECT_EQ(balance_row(who.account), std::nullopt);
  auto connection = database_->connect();
  pqxx::read_transaction work(*connection);
  EXPECT_EQ(work.exec1("SELECT count(*) FROM ledger_events")[0].as<int64_t>(), 0);
  // The raw delivery is kept byte for byte, sealed under its own key (README "Erasure").
  const pqxx::row raw = work.exec1(
      "SELECT d.raw_body, d.sealed, k.secret FROM webhook_deliveries d"
      " JOIN webhook_body_keys k USING (provider, provider_event_id)"
      " WHERE provider_event_id = 'evt_other_1'");
  const std::string stored = pqxx::binarystring(raw[0]).str();
  EXPECT_TRUE(raw[1].as<bool>());
  EXPECT_EQ(stored.find("buyer@example.com"), std::string::npos);
  EXPECT_EQ(crypto::open_sealed(pqxx::binarystring(raw[2]).str(), stored,
                                "webhook_body:stripe:evt_other_1"),
            customer_body);
}

TEST_F(WebhookEventsTest, ThePriceOnTheInvoiceWinsOverMetadata) {
  const Subscriber who = subscriber("price");
  std::string invoice =
      invoice_event("invoice.paid", "evt_price_1", period0_s_ + 11, who, "price_business_monthly",
                    "subscription_create", period0_s_, Shape::kBasil);
  for (std::size_t at = invoice.find(R"("plan_id": "business")"); at != std::string::npos;
       at = invoice.find(R"("plan_id": "business")", at)) {
    invoice.replace(at, 21, R"("plan_id": "pro")");
  }
  ASSERT_EQ(invoice.find("\"business\""), std::string::npos);
  ASSERT_EQ(deliver_ok(invoice), "processed");
  EXPECT_EQ(balance_row(who.account)->plan_id, "business");
  EXPECT_EQ(available(who.account), 50'000);
}

TEST_F(WebhookEventsTest, ALedgerRejectionFailsTheDeliveryAndKeepsIt) {
  // metadata.plan_id names no plan and a checkout carries no price: nothing to start.
  std::string checkout = checkout_completed("evt_rej", now_s(), subscriber("rej"), "platinum");
  const TestResponse response = deliver(checkout);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(
      response.body,
      R"({"received":true,"duplicate":false,"status":"failed","note":"rejected:invalid_request"})");
  EXPECT_EQ(processing_column("evt_rej", "last_error"), "the ledger rejected the billing event");
  EXPECT_EQ(deliveries_stored(), 1);
}

// A delivery stored but never processed (the process died after the 2xx) is picked up by
// the retry loop once its lease has passed.
TEST_F(WebhookEventsTest, AStoredButUnprocessedDeliveryIsProcessedByTheLoop) {
  const Subscriber who = subscriber("crash");
  const std::string body = checkout_completed("evt_crash", now_s(), who, "pro");
  {
    auto connection = database_->connect();
    pqxx::work work(*connection);
    work.exec_params(
        "INSERT INTO webhook_deliveries (provider, provider_event_id, event_type, raw_body)"
        " VALUES ('stripe', 'evt_crash', 'checkout.session.completed', $1)",
        pqxx::binarystring(body));
    work.exec0(
        "INSERT INTO webhook_processing (provider, provider_event_id, status, next_attempt_at)"
        " VALUES ('stripe', 'evt_crash', 'pending', now())");
    work.commit();
  }
  ASSERT_TRUE(wait_for_status("evt_crash", "processed", 5'000));
  EXPECT_EQ(balance_row(who.account)->plan_id, "pro");
  EXPECT_EQ(deliver(body).body, R"({"received":true,"duplicate":true})");
}

TEST_F(WebhookEventsTest, SubscriptionRouteReportsPlanStatusPeriodAndIds) {
  const Subscriber who = subscriber("view");
  const TestResponse none = get_subscription(who.account);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(
      none.body,
      R"({"plan":"free","status":"none","current_period_end":null,"cancel_at_period_end":false,)"
      R"("scheduled_plan":null,"stripe_customer_id":null,"stripe_subscription_id":null})");
  deliver_ok(checkout_completed("evt_view_0", period0_s_ + 10, who, "business"));
  deliver_ok(invoice_event("invoice.paid", "evt_view_1", period0_s_ + 11, who,
                           "price_business_monthly", "subscription_create", period0_s_,
                           Shape::kPre2025));
  deliver_ok(subscription_event("customer.subscription.updated", "evt_view_2", period0_s_ + kDayS,
                                who, "price_pro_monthly", "active", period0_s_, true,
                                Shape::kBasil));  // a downgrade: next period
  const TestResponse view = get_subscription(who.account);
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(view.body,
            R"({"plan":"business","status":"active","current_period_end":")" +
                ledger::format_rfc3339((period0_s_ + kMonthS) * 1'000'000) +
                R"(","cancel_at_period_end":true,"scheduled_plan":"pro",)"
                R"("stripe_customer_id":"cus_view","stripe_subscription_id":"sub_view"})");
  EXPECT_EQ(testing_support::http_get(url("/api/v1/billing/subscription"), {}).status, 401);
  EXPECT_EQ(testing_support::http_post(url("/api/v1/billing/subscription"), bearer(token("x")), "")
                .status,
            405);
}

}  // namespace
}  // namespace billing_tests
