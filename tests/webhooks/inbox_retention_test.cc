// Retention of the webhook inbox (webhooks/inbox_retention.h) against a real PostgreSQL:
// settled deliveries past the window go with their processing rows; open ones (pending,
// parked, failed for want of an account) stay however old; webhook_deliveries still refuses
// every UPDATE, TRUNCATE and DELETE outside the prune, and ledgerctl verify's trigger check
// still passes.
#include "webhooks/inbox_retention.h"

#include <gtest/gtest.h>

#include "audit/verify.h"
#include "projections/balances.h"
#include "tests/support/test_database.h"

namespace {

using testing_support::TestDatabase;

class InboxRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override { connection_ = db_.connect(); }

  void exec(const std::string& sql) {
    pqxx::work work(*connection_);
    work.exec0(sql);
    work.commit();
  }
  int64_t count(const std::string& sql) {
    pqxx::read_transaction work(*connection_);
    return work.exec1(sql)[0].as<int64_t>();
  }
  // A delivery received `age_days` ago whose processing row reached `status` (with `note`)
  // then.
  void add_delivery(const std::string& id, int age_days, const std::string& status,
                    const std::string& note = "") {
    const std::string at = "now() - interval '" + std::to_string(age_days) + " days'";
    pqxx::work work(*connection_);
    work.exec_params(
        "INSERT INTO webhook_deliveries (provider, provider_event_id, event_type, raw_body,"
        " received_at) VALUES ('stripe', $1, 'invoice.paid', '\\x7b7d', " +
            at + ")",
        id);
    work.exec_params(
        "INSERT INTO webhook_processing (provider, provider_event_id, status, note, updated_at)"
        " VALUES ('stripe', $1, $2, NULLIF($3, ''), " +
            at + ")",
        id, status, note);
    work.commit();
  }
  bool stored(const std::string& id) {
    return count("SELECT count(*) FROM webhook_deliveries WHERE provider_event_id = '" + id +
                 "'") == 1;
  }
  ledger::PruneCount prune_inbox(int days, bool dry_run = false) {
    ledger::RetentionSettings settings;
    settings.webhook_days = days;
    return ledger::prune(*connection_, {webhooks::inbox_prune_target(days)}, settings, dry_run)[0];
  }
  // Runs `sql` and returns the error text ("" when it succeeded; then rolled back anyway).
  std::string refusal(const std::string& sql) {
    try {
      pqxx::work work(*connection_);
      work.exec(sql);
      return "";
    } catch (const std::exception& error) {
      return error.what();
    }
  }

  TestDatabase db_;
  std::unique_ptr<pqxx::connection> connection_;
};

TEST_F(InboxRetentionTest, OnlySettledDeliveriesPastTheWindowGo) {
  add_delivery("evt_processed_old", 100, "processed", "applied");
  add_delivery("evt_ignored_old", 100, "ignored", "livemode_mismatch");
  add_delivery("evt_failed_old", 100, "failed", "rejected:invalid_command");
  add_delivery("evt_unresolved_old", 100, "failed", "account_unresolved");
  add_delivery("evt_pending_old", 100, "pending");
  add_delivery("evt_parked_old", 100, "parked", "account_unresolved");
  add_delivery("evt_processed_recent", 10, "processed", "applied");

  EXPECT_EQ(prune_inbox(90, true).rows, 3);
  EXPECT_EQ(count("SELECT count(*) FROM webhook_deliveries"), 7) << "a dry run deletes nothing";
  const ledger::PruneCount done = prune_inbox(90);
  EXPECT_EQ(done.name, "webhook_deliveries");
  EXPECT_EQ(done.rows, 3);
  for (const char* gone : {"evt_processed_old", "evt_ignored_old", "evt_failed_old"}) {
    EXPECT_FALSE(stored(gone)) << gone;
  }
  for (const char* kept :
       {"evt_unresolved_old", "evt_pending_old", "evt_parked_old", "evt_processed_recent"}) {
    EXPECT_TRUE(stored(kept)) << kept;
  }
  EXPECT_EQ(count("SELECT count(*) FROM webhook_processing"), 4);
  // The horizon says how far back deliveries may be missing: the cutoff, 90 days ago.
  EXPECT_EQ(count("SELECT count(*) FROM retention_horizons WHERE subject = 'webhook_deliveries'"
                  " AND pruned_before BETWEEN now() - interval '91 days'"
                  " AND now() - interval '89 days'"),
            1);
  EXPECT_EQ(prune_inbox(5).rows, 1) << "a shorter window takes the recent one";
  EXPECT_EQ(prune_inbox(5).rows, 0);
}

TEST_F(InboxRetentionTest, DeliveriesStayAppendOnlyOutsideThePrune) {
  add_delivery("evt_old", 100, "processed", "applied");
  add_delivery("evt_new", 0, "processed", "applied");
  exec("DELETE FROM webhook_processing");  // the foreign key is not what refuses below
  const std::string kAppendOnly = "the table is append-only";
  EXPECT_NE(refusal("DELETE FROM webhook_deliveries").find(kAppendOnly), std::string::npos);
  EXPECT_NE(refusal("UPDATE webhook_deliveries SET event_type = 'x'").find(kAppendOnly),
            std::string::npos);
  EXPECT_NE(refusal("TRUNCATE webhook_deliveries, webhook_processing, webhook_body_keys").find(kAppendOnly),
            std::string::npos);
  // With the setting, still only rows received before the cutoff, and only a cutoff at
  // least a day old: a recent delivery can never be deleted.
  const auto with_cutoff = [](const std::string& cutoff, const std::string& statement) {
    return "SELECT set_config('ledger.webhook_prune_before', (" + cutoff + ")::text, true); " +
           statement;
  };
  EXPECT_NE(refusal(with_cutoff("now()", "DELETE FROM webhook_deliveries")).find(kAppendOnly),
            std::string::npos);
  EXPECT_NE(
      refusal(with_cutoff("now() + interval '1 year'",
                          "DELETE FROM webhook_deliveries WHERE provider_event_id = 'evt_new'"))
          .find(kAppendOnly),
      std::string::npos);
  EXPECT_NE(
      refusal(with_cutoff("now() - interval '30 days'",
                          "DELETE FROM webhook_deliveries WHERE provider_event_id = 'evt_new'"))
          .find(kAppendOnly),
      std::string::npos);
  EXPECT_NE(refusal(with_cutoff("now() - interval '30 days'",
                                "UPDATE webhook_deliveries SET event_type = 'x'"))
                .find(kAppendOnly),
            std::string::npos);
  EXPECT_EQ(
      refusal(with_cutoff("now() - interval '30 days'",
                          "DELETE FROM webhook_deliveries WHERE provider_event_id = 'evt_old'")),
      "")
      << "the rule admits an old delivery (rolled back here)";
  // The setting is transaction-local: the next transaction is refused again.
  EXPECT_NE(refusal("DELETE FROM webhook_deliveries WHERE provider_event_id = 'evt_old'")
                .find(kAppendOnly),
            std::string::npos);
  EXPECT_EQ(count("SELECT count(*) FROM webhook_deliveries"), 2);
  EXPECT_NE(refusal("TRUNCATE ledger_events").find(kAppendOnly), std::string::npos);
}

TEST_F(InboxRetentionTest, ADeliveryWithItsProcessingRowCannotBeDeleted) {
  add_delivery("evt_old_pending", 100, "pending");
  const std::string error = refusal(
      "SELECT set_config('ledger.webhook_prune_before', (now() - interval '30 days')::text, true);"
      " DELETE FROM webhook_deliveries");
  EXPECT_NE(error.find("foreign key"), std::string::npos) << error;
  EXPECT_EQ(prune_inbox(1).rows, 0);
  EXPECT_TRUE(stored("evt_old_pending"));
}

TEST_F(InboxRetentionTest, VerifyStillFindsTheGuardAndMissesItWhenDropped) {
  add_delivery("evt_old", 100, "processed", "applied");
  ASSERT_EQ(prune_inbox(30).rows, 1);
  EXPECT_TRUE(audit::verify_ledger(*db_.connect_pg()).clean);
  exec("ALTER TABLE webhook_deliveries DISABLE TRIGGER webhook_deliveries_no_update_delete");
  const audit::VerifyReport report = audit::verify_ledger(*db_.connect_pg());
  EXPECT_FALSE(report.clean);
  EXPECT_NE(report.problem.find("webhook_deliveries"), std::string::npos) << report.problem;
}

}  // namespace
