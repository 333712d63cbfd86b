// Retention end to end: `ledgerctl prune [--dry-run]` prints counts and removes only what
// is past its window, never an event; ledgerd prunes by itself every --prune_interval_s
// (flags or LEDGER_ variables); and an Idempotency-Key whose record expired is a new
// command over HTTP, as the README says.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "http/request_rules.h"
#include "tests/http/ledgerd_fixture.h"
#include "tests/support/ledgerctl_run.h"

namespace http_tests {
namespace {

using testing_support::CommandResult;
using testing_support::http_post;
using testing_support::run_ledgerctl;

// What `ledgerctl prune` prints when one row of each kind is past the default windows.
std::string one_of_each(const std::string& verb) {
  return "ledger_idempotency\t" + verb + " 1 rows older than 30 days\n" + "ledger_outbox\t" + verb +
         " 1 rows older than 30 days\n" + "webhook_deliveries\t" + verb +
         " 1 rows older than 90 days\n" + "ledger_events\tnever pruned\n";
}

class PruneTest : public LedgerdTest {
 protected:
  int64_t count(const std::string& sql) const {
    auto connection = database_->connect();
    pqxx::read_transaction work(*connection);
    return work.exec1(sql)[0].as<int64_t>();
  }
  void exec(const std::string& sql) const {
    auto connection = database_->connect();
    pqxx::work work(*connection);
    work.exec0(sql);
    work.commit();
  }
  // POST a grant of `amount` to alice under the Idempotency-Key `key`.
  TestResponse grant_with_key(const std::string& admin, const std::string& key,
                              int64_t amount) const {
    return http_post(url("/api/v1/admin/accounts/alice/grants"), with_key(bearer(admin), key),
                     R"({"amount":)" + std::to_string(amount) + R"(,"reason":"goodwill"})");
  }
  // The stored record of the client key `key` (the ledger scopes HTTP keys with a prefix).
  static std::string record_of(const std::string& key) {
    return "idempotency_key = '" + std::string(http::kClientKeyPrefix) + key + "'";
  }
  int64_t records_of(const std::string& key) const {
    return count("SELECT count(*) FROM ledger_idempotency WHERE " + record_of(key));
  }
  void age_idempotency_key(const std::string& key, int days) const {
    exec("UPDATE ledger_idempotency SET created_at = now() - interval '" + std::to_string(days) +
         " days' WHERE " + record_of(key));
    ASSERT_EQ(records_of(key), 1);
  }
  // A settled Stripe delivery received and processed `days` ago.
  void add_settled_delivery(const std::string& id, int days) const {
    const std::string at = "now() - interval '" + std::to_string(days) + " days'";
    exec(
        "INSERT INTO webhook_deliveries (provider, provider_event_id, event_type, raw_body,"
        " received_at) VALUES ('stripe', '" +
        id + "', 'customer.created', '\\x7b7d', " + at +
        ");"
        " INSERT INTO webhook_processing (provider, provider_event_id, status, note, updated_at)"
        " VALUES ('stripe', '" +
        id + "', 'ignored', 'unhandled_type', " + at + ")");
  }
  void add_delivered_message(const std::string& id, int days) const {
    const std::string at = "now() - interval '" + std::to_string(days) + " days'";
    exec(
        "INSERT INTO ledger_outbox (account_id, message_id, kind, payload, created_at,"
        " delivered_at) VALUES ('alice', '" +
        id + "', 'email.payment_failed', '{}', " + at + ", " + at + ")");
  }
};

TEST_F(PruneTest, LedgerctlPrunePrintsCountsAndDryRunChangesNothing) {
  const std::string admin = create_key("ops", {"admin"});
  ASSERT_EQ(grant_with_key(admin, "g-old", 50).status, 200);
  ASSERT_EQ(grant_with_key(admin, "g-new", 50).status, 200);
  age_idempotency_key("g-old", 45);
  add_delivered_message("00000000-0000-4000-8000-000000000001", 45);
  add_delivered_message("00000000-0000-4000-8000-000000000002", 1);
  add_settled_delivery("evt_old", 120);
  add_settled_delivery("evt_new", 2);
  const int64_t events = count("SELECT count(*) FROM ledger_events");

  const CommandResult dry = run_ledgerctl({"prune", "--dry-run"}, database_->url());
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out, one_of_each("would delete"));
  EXPECT_EQ(count("SELECT count(*) FROM ledger_idempotency"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_outbox"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM webhook_deliveries"), 2);

  const CommandResult done = run_ledgerctl({"prune"}, database_->url());
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(done.out, one_of_each("deleted"));
  EXPECT_EQ(records_of("g-old"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_outbox"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM webhook_deliveries WHERE provider_event_id = 'evt_new'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM webhook_deliveries"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_events"), events);
  const CommandResult verify = run_ledgerctl({"verify"}, database_->url());
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // Windows from options, else LEDGER_ variables; 0 keeps forever.
  const CommandResult windows = run_ledgerctl(
      {"prune", "--dry-run", "--idempotency-retention-days", "0"}, database_->url(),
      {{"LEDGER_WEBHOOK_RETENTION_DAYS", "1"}, {"LEDGER_OUTBOX_RETENTION_DAYS", "0"}});
  ASSERT_EQ(windows.exit_code, 0) << windows.err;
  EXPECT_EQ(windows.out,
            "ledger_idempotency\tkept forever (retention 0)\n"
            "ledger_outbox\tkept forever (retention 0)\n"
            "webhook_deliveries\twould delete 1 rows older than 1 days\n"
            "ledger_events\tnever pruned\n");
  for (const std::string bad : {"-1", "x", "36501", ""}) {
    const CommandResult refused =
        run_ledgerctl({"prune", "--webhook-retention-days=" + bad}, database_->url());
    if (bad.empty()) {
      EXPECT_EQ(refused.exit_code, 0) << "empty: the default";
      continue;
    }
    EXPECT_EQ(refused.exit_code, 2) << bad;
    EXPECT_NE(refused.err.find("retention windows are whole days"), std::string::npos);
  }
  EXPECT_EQ(count("SELECT count(*) FROM webhook_deliveries"), 1);
}

// ledgerd prunes by itself; an expired key is then a new command (a second grant), while a
// key inside the window still replays.
TEST_F(PruneTest, LedgerdPrunesPeriodicallyAndAnExpiredKeyIsANewCommand) {
  testing_support::LedgerdOptions options;
  options.database_url = database_->url();
  options.jwt_secret = secret_;
  options.extra_flags = ledgerd_flags();
  options.extra_flags.push_back("--idempotency_retention_days=2");
  options.env = {{"LEDGER_PRUNE_INTERVAL_S", "1"}};
  ledgerd_.reset();
  ledgerd_ = std::make_unique<testing_support::LedgerdProcess>(options);

  const std::string admin = create_key("ops", {"admin"});
  const TestResponse first = grant_with_key(admin, "g-1", 70);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(grant_with_key(admin, "g-2", 70).status, 200);
  EXPECT_EQ(grant_with_key(admin, "g-1", 70).body, first.body) << "a repeat replays";
  age_idempotency_key("g-1", 3);
  age_idempotency_key("g-2", 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const std::string logged = "pruned 1 rows of ledger_idempotency older than 2 days";
  while ((records_of("g-1") != 0 || ledgerd_->log_text().find(logged) == std::string::npos) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(records_of("g-1"), 0) << ledgerd_->log_text();
  EXPECT_NE(ledgerd_->log_text().find(logged), std::string::npos);
  EXPECT_EQ(records_of("g-2"), 1);

  const int64_t granted_before = balance_row("alice")->credits_granted;
  const TestResponse retried = grant_with_key(admin, "g-1", 70);
  EXPECT_EQ(retried.status, 200) << retried.body;
  EXPECT_NE(retried.body, first.body) << "a new command, not the first outcome";
  EXPECT_EQ(balance_row("alice")->credits_granted, granted_before + 70);
  const TestResponse replayed = grant_with_key(admin, "g-2", 70);
  EXPECT_EQ(balance_row("alice")->credits_granted, granted_before + 70) << replayed.body;
  expect_consistent("alice");
}

TEST_F(PruneTest, LedgerdRefusesRetentionFlagsOutOfRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--webhook_retention_days=-1", "webhook retention must be 0 (keep forever) or 1..36500"},
      {"--idempotency_retention_days=40000", "idempotency retention must be"},
      {"--prune_interval_s=-5", "--prune_interval_s must be"}};
  for (const auto& [flag, expected] : cases) {
    testing_support::LedgerdOptions options;
    options.database_url = database_->url();
    options.jwt_secret = secret_;
    options.extra_flags = {flag};
    const std::string message = testing_support::start_failure(options);
    EXPECT_NE(message.find("exited with 2"), std::string::npos) << flag << ": " << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace http_tests
