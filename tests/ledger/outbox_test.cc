// Outbox: messages written with their events are delivered after commit, retried on
// failure, and delivered exactly once when they succeed.
#include <gtest/gtest.h>

#include "ledger/committer.h"
#include "ledger/outbox.h"
#include "tests/support/test_database.h"

namespace {

using namespace ledger;

TEST(Outbox, PaymentFailedEmailIsDeliveredAfterARetry) {
  testing_support::TestDatabase db;
  const auto plans = std::get<PlanCatalog>(
      PlanCatalog::load(std::string(LEDGER_SOURCE_DIR) + "/config/plans.json"));
  CommitterOptions options;
  options.database_url = db.url();
  options.sweep_interval_ms = 0;
  auto committer = Committer::start(options, plans);
  StripeBillingEvent failed;
  failed.stripe_event_id = "evt_f";
  failed.type = "invoice.payment_failed";
  failed.created_s = 100;
  failed.subscription_id = "sub_1";
  failed.invoice_id = "in_1";
  ASSERT_TRUE(committer->submit({"acct", "stripe:evt_f", failed, {}}).get().ok());
  // A replayed delivery adds no second message.
  ASSERT_TRUE(committer->submit({"acct", "stripe:evt_f", failed, {}}).get().replayed);

  int calls = 0;
  std::string seen_payload;
  OutboxOptions outbox_options;
  outbox_options.database_url = db.url();
  OutboxDeliverer deliverer(outbox_options,
                            {{"email.payment_failed",
                              [&](const std::string&, const std::string& account, const std::string& payload) {
                                ++calls;
                                seen_payload = payload;
                                EXPECT_EQ(account, "acct");
                                return calls == 1 ? std::string("smtp down") : std::string();
                              }}});
  EXPECT_EQ(deliverer.deliver_due(), 0);  // first attempt fails
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(deliverer.deliver_due(), 0) << "backoff: not due again yet";
  auto connection = db.connect();
  {
    pqxx::work work(*connection);
    work.exec0("UPDATE ledger_outbox SET next_attempt_at = now() - interval '1 second'");
    work.commit();
  }
  EXPECT_EQ(deliverer.deliver_due(), 1);
  EXPECT_EQ(deliverer.deliver_due(), 0);
  EXPECT_EQ(calls, 2);
  EXPECT_NE(seen_payload.find("in_1"), std::string::npos);
  pqxx::read_transaction work(*connection);
  EXPECT_EQ(work.exec1("SELECT count(*) FROM ledger_outbox WHERE delivered_at IS NOT NULL")[0].as<int>(), 1);
}

}  // namespace
