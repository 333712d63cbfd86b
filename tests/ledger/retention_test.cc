// Retention of the ledger's own tables (ledger/retention.h) against a real PostgreSQL: only
// rows past their window go (idempotency records; outbox messages delivered or given up),
// in bounded batches, safely from several pruners at once, never an event; a key whose
// record expired is a new command.
#include "ledger/retention.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "ledger/committer.h"
#include "ledger/store.h"
#include "audit/verify.h"
#include "projections/balances.h"
#include "tests/support/test_database.h"

namespace {

using namespace ledger;
using testing_support::TestDatabase;

PlanCatalog plans() {
  return std::get<PlanCatalog>(
      PlanCatalog::load(std::string(LEDGER_SOURCE_DIR) + "/config/plans.json"));
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CommitterOptions options;
    options.database_url = db_.url();
    options.sweep_interval_ms = 0;
    committer_ = Committer::start(options, plans_);
    connection_ = db_.connect();
  }
  Outcome grant(const std::string& account, const std::string& key, int64_t amount) {
    Command command{account, key, GrantCredits{amount, "retention test", "admin"}, {}};
    command.metadata.actor = "test";
    return committer_->submit(std::move(command)).get();
  }
  int64_t count(const std::string& sql) {
    pqxx::read_transaction work(*connection_);
    return work.exec1(sql)[0].as<int64_t>();
  }
  void exec(const std::string& sql) {
    pqxx::work work(*connection_);
    work.exec0(sql);
    work.commit();
  }
  // Backdates an idempotency record by `days`.
  void age_key(const std::string& key, int days) {
    exec("UPDATE ledger_idempotency SET created_at = now() - interval '" + std::to_string(days) +
         " days' WHERE idempotency_key = " + connection_->quote(key));
  }
  // An outbox message created `age_days` ago; delivered then too when `delivered`.
  void add_message(const std::string& id, int age_days, bool delivered, int attempts) {
    const std::string at = "now() - interval '" + std::to_string(age_days) + " days'";
    exec(
        "INSERT INTO ledger_outbox (account_id, message_id, kind, payload, created_at,"
        " attempts, next_attempt_at, delivered_at) VALUES ('acct', '" +
        id + "', 'email.payment_failed', '{}', " + at + ", " + std::to_string(attempts) + ", " +
        at + ", " + (delivered ? at : "NULL") + ")");
  }
  std::vector<PruneCount> prune_now(const RetentionSettings& settings, bool dry_run = false) {
    return prune(*connection_, ledger_prune_targets(settings), settings, dry_run);
  }

  TestDatabase db_;
  PlanCatalog plans_ = plans();
  std::unique_ptr<Committer> committer_;
  std::unique_ptr<pqxx::connection> connection_;
};

TEST_F(RetentionTest, ExpiredIdempotencyRecordsGoAndTheirKeyIsANewCommandAfterwards) {
  ASSERT_TRUE(grant("alice", "old-grant", 100).ok());
  ASSERT_TRUE(grant("alice", "recent-grant", 100).ok());
  ASSERT_TRUE(grant("alice", "edge-grant", 100).ok());
  age_key("old-grant", 31);
  age_key("edge-grant", 29);
  const int64_t events_before = count("SELECT count(*) FROM ledger_events");
  ASSERT_TRUE(grant("alice", "old-grant", 100).replayed) << "still inside the window";

  RetentionSettings settings;  // 30 days
  const std::vector<PruneCount> dry = prune_now(settings, true);
  ASSERT_EQ(dry.size(), 2u);
  EXPECT_EQ(dry[0].name, "ledger_idempotency");
  EXPECT_EQ(dry[0].rows, 1);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_idempotency"), 3) << "a dry run deletes nothing";

  const std::vector<PruneCount> done = prune_now(settings);
  EXPECT_EQ(done[0].rows, 1);
  EXPECT_FALSE(done[0].more_left);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_idempotency WHERE idempotency_key = 'old-grant'"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_idempotency"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_events"), events_before) << "events never pruned";
  EXPECT_EQ(prune_now(settings)[0].rows, 0) << "nothing left to prune";

  // The README's rule: a retry after the window is a new command.
  const Outcome retried = grant("alice", "old-grant", 100);
  EXPECT_TRUE(retried.ok());
  EXPECT_FALSE(retried.replayed);
  EXPECT_EQ(projections::balances::read(*db_.connect_pg(), "alice")->credits_granted, 300 + 4 * 100);
  EXPECT_TRUE(grant("alice", "edge-grant", 100).replayed);
  EXPECT_TRUE(audit::verify_ledger(*db_.connect_pg()).clean);
}

TEST_F(RetentionTest, OnlyDeliveredOrGivenUpOutboxMessagesPastTheWindowGo) {
  const auto id = [](int n) { return "00000000-0000-4000-8000-00000000000" + std::to_string(n); };
  add_message(id(1), 31, true, 1);                           // delivered long ago: goes
  add_message(id(2), 5, true, 1);                            // delivered recently: kept
  add_message(id(3), 31, false, 2);                          // still retried: kept
  add_message(id(4), 31, false, kOutboxAttemptsMaxDefault);  // given up long ago: goes
  add_message(id(5), 5, false, kOutboxAttemptsMaxDefault);   // given up recently: kept
  add_message(id(6), 400, false, 0);                         // never attempted: kept
  RetentionSettings settings;
  EXPECT_EQ(prune_now(settings, true)[1].rows, 2);
  const std::vector<PruneCount> done = prune_now(settings);
  EXPECT_EQ(done[1].name, "ledger_outbox");
  EXPECT_EQ(done[1].rows, 2);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_outbox WHERE message_id IN ('" + id(1) + "', '" +
                  id(4) + "')"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_outbox"), 4);

  settings.outbox_days = 0;  // kept forever
  add_message(id(7), 400, true, 1);
  const std::vector<PruneCount> kept = prune_now(settings);
  EXPECT_EQ(kept[1].retention_days, 0);
  EXPECT_EQ(kept[1].rows, 0);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_outbox"), 5);
}

TEST_F(RetentionTest, BatchesAreBoundedAndTheNextRunGoesOn) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(grant("bob", "k" + std::to_string(i), 1).ok());
  exec("UPDATE ledger_idempotency SET created_at = now() - interval '40 days'");
  RetentionSettings settings;
  settings.batch_rows = 2;
  settings.batches_max = 2;
  std::vector<PruneCount> first = prune_now(settings);
  EXPECT_EQ(first[0].rows, 4);
  EXPECT_TRUE(first[0].more_left);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_idempotency"), 3);
  std::vector<PruneCount> second = prune_now(settings);
  EXPECT_EQ(second[0].rows, 3);
  EXPECT_FALSE(second[0].more_left);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_idempotency"), 0);

  // A stop request between batches ends the run early.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(grant("bob", "s" + std::to_string(i), 1).ok());
  exec("UPDATE ledger_idempotency SET created_at = now() - interval '40 days'");
  int batches = 0;
  const auto stopped = prune(*connection_, ledger_prune_targets(settings), settings, false,
                             [&batches] { return ++batches > 1; });
  EXPECT_EQ(stopped[0].rows, 2);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_idempotency"), 2);
}

// Four pruners at once (as several ledgerd processes): every expired row goes exactly once,
// none blocks another, and the committer keeps committing meanwhile.
TEST_F(RetentionTest, ConcurrentPrunersTakeDisjointRows) {
  exec(
      "INSERT INTO ledger_idempotency (account_id, idempotency_key, fingerprint, outcome, "
      "created_at)"
      " SELECT 'acct' || (g % 50), 'key-' || g, 'f', '{}', now() - interval '60 days'"
      " FROM generate_series(1, 3000) g");
  RetentionSettings settings;
  settings.batch_rows = 50;
  settings.batches_max = 1000;
  std::atomic<int64_t> deleted{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> pruners;
  for (int p = 0; p < 4; ++p) {
    pruners.emplace_back([&] {
      try {
        auto connection = db_.connect();
        deleted += prune(*connection, ledger_prune_targets(settings), settings, false)[0].rows;
      } catch (const std::exception& error) {
        ++failures;
        ADD_FAILURE() << error.what();
      }
    });
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(grant("acct1", "live-" + std::to_string(i), 1).ok());
  for (auto& pruner : pruners) pruner.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(deleted.load(), 3000);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_idempotency WHERE idempotency_key LIKE 'key-%'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_idempotency WHERE idempotency_key LIKE 'live-%'"),
            20);
}

TEST(RetentionSettingsTest, RefusesWindowsAndBatchesOutOfRange) {
  RetentionSettings settings;
  EXPECT_EQ(retention_settings_error(settings), "");
  settings.webhook_days = -1;
  EXPECT_NE(retention_settings_error(settings).find("webhook retention"), std::string::npos);
  settings.webhook_days = kRetentionDaysMax + 1;
  EXPECT_NE(retention_settings_error(settings), "");
  settings.webhook_days = 0;
  EXPECT_EQ(retention_settings_error(settings), "");
  settings.batch_rows = 0;
  EXPECT_NE(retention_settings_error(settings), "");
}

}  // namespace
