// audit::reconcile_stripe: clean after real deliveries; a paid invoice without its
// grant and a Stripe grant without a delivery are both found and named.
#include "audit/reconcile.h"

#include <gtest/gtest.h>

#include "ledger/committer.h"
#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"

namespace billing_tests {
namespace {

class ReconcileTest : public BillingTest {
 protected:
  audit::ReconcileReport reconcile() const {
    auto connection = database_->connect();
    return audit::reconcile_stripe(*connection);
  }
  const int64_t period0_s_ = now_s() - 40 * kDayS;
};

TEST_F(ReconcileTest, CleanAfterASubscriptionsLife) {
  const Subscriber who = subscriber("rec");
  for (const std::string& body : life_of_a_subscription(who, "rec", period0_s_, Shape::kPre2025)) {
    deliver_ok(body);
    deliver(body);  // duplicates change nothing
  }
  const audit::ReconcileReport report = reconcile();
  EXPECT_TRUE(report.clean) << report.problem;
  EXPECT_EQ(report.invoices_checked, 2);  // the first invoice (period shared) and the renewal
  // checkout allowance, upgrade difference, renewal allowance, deletion reset
  EXPECT_EQ(report.grants_checked, 4);
  EXPECT_EQ(report.problem, "");
}

TEST_F(ReconcileTest, PaidInvoiceWithoutItsGrantIsReported) {
  const Subscriber who = subscriber("gap");
  deliver_ok(checkout_completed("evt_gap_0", period0_s_ + 10, who, "pro"));
  // An invoice.paid recorded as processed without going through the ledger (what a bug or a
  // hand edit would leave behind).
  const std::string body =
      invoice_event("invoice.paid", "evt_gap_1", period0_s_ + kMonthS + 60, who,
                    "price_pro_monthly", "subscription_cycle", period0_s_ + kMonthS, Shape::kBasil);
  {
    auto connection = database_->connect();
    pqxx::work work(*connection);
    work.exec_params(
        "INSERT INTO webhook_deliveries (provider, provider_event_id, event_type, raw_body)"
        " VALUES ('stripe', 'evt_gap_1', 'invoice.paid', $1)",
        pqxx::binarystring(body));
    work.exec0(
        "INSERT INTO webhook_processing (provider, provider_event_id, status, account_id, note)"
        " VALUES ('stripe', 'evt_gap_1', 'processed', 'acct-gap', 'applied')");
    work.commit();
  }
  const audit::ReconcileReport report = reconcile();
  EXPECT_FALSE(report.clean);
  EXPECT_EQ(report.invoices_without_grant, 1);
  EXPECT_EQ(report.account_id, "acct-gap");
  EXPECT_EQ(report.reference, "evt_gap_1");
  EXPECT_EQ(report.problem, "paid invoice has no allowance grant for period sub_gap:" +
                                std::to_string(period0_s_ + kMonthS));
}

TEST_F(ReconcileTest, StripeGrantWithoutADeliveryIsReported) {
  // A billing event submitted straight to the ledger, bypassing the inbox.
  {
    ledger::CommitterOptions options;
    options.database_url = database_->url();
    options.sweep_interval_ms = 0;
    const auto plans =
        std::get<ledger::PlanCatalog>(ledger::PlanCatalog::parse(billing_plans_json()));
    auto committer = ledger::Committer::start(options, plans);
    ledger::StripeBillingEvent event;
    event.stripe_event_id = "evt_never_delivered";
    event.type = "checkout.session.completed";
    event.created_s = now_s();
    event.customer_id = "cus_orphan";
    event.subscription_id = "sub_orphan";
    event.plan_id = "pro";
    ASSERT_TRUE(committer->submit({"orphan", "stripe:evt_never_delivered", event, {}}).get().ok());
    committer->shutdown();
  }
  const audit::ReconcileReport report = reconcile();
  EXPECT_FALSE(report.clean);
  EXPECT_EQ(report.grants_without_delivery, 1);
  EXPECT_EQ(report.account_id, "orphan");
  EXPECT_NE(report.problem.find("traces to no processed delivery"), std::string::npos)
      << report.problem;
}

}  // namespace
}  // namespace billing_tests
