// The batching committer against a real PostgreSQL: concurrency, idempotency, two
// committers on one database, crash mid-batch, immutability and verification.
#include "ledger/committer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "audit/export.h"
#include "audit/verify.h"
#include "crypto/digest.h"
#include "ledger/migrations.h"
#include "ledger/store.h"
#include "projections/balances.h"
#include "tests/ledger/ledger_test_support.h"
#include "tests/support/test_database.h"

namespace {

using namespace ledger;
using testing_support::TestDatabase;

PlanCatalog plans() { return ledger_tests::shipped_plans(); }

Command make(const std::string& account, const std::string& key, CommandBody body) {
  return ledger_tests::make_command(account, key, std::move(body));
}

// A committer's options on `url`, without the sweeper unless `sweep_interval_ms` > 0.
CommitterOptions options_on(const std::string& url, int64_t sweep_interval_ms = 0) {
  CommitterOptions options;
  options.database_url = url;
  options.sweep_interval_ms = sweep_interval_ms;
  return options;
}

class CommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    committer_ = Committer::start(options_on(db_.url()), plans_);
    connection_ = db_.connect();
    pg_ = db_.connect_pg();
  }
  Outcome submit(const std::string& account, const std::string& key, CommandBody body) {
    return committer_->submit(make(account, key, std::move(body))).get();
  }
  void expect_verify_clean() {
    const auto report = audit::verify_ledger(*pg_);
    EXPECT_TRUE(report.clean) << report.problem << " at " << report.stream_id << "@"
                              << report.stream_version;
  }
  int64_t count(const std::string& sql) {
    pqxx::read_transaction work(*connection_);
    return work.exec1(sql)[0].as<int64_t>();
  }

  TestDatabase db_;
  PlanCatalog plans_ = plans();
  std::unique_ptr<Committer> committer_;
  std::unique_ptr<pqxx::connection> connection_;  // raw SQL of the tests
  std::unique_ptr<pg::Connection> pg_;             // the ledger's own reads
};

TEST_F(CommitterTest, ReserveCaptureReleaseRoundTrip) {
  Outcome reserved = submit("alice", "k1", ReserveCredits{100, "humanize", 60, "res_1"});
  ASSERT_TRUE(reserved.ok());
  EXPECT_EQ(reserved.credits_available, 200);
  EXPECT_EQ(reserved.version, 3);  // opened, allowance, reserved
  Outcome captured = submit("alice", "k2", CaptureReservation{"res_1", 40});
  ASSERT_TRUE(captured.ok());
  EXPECT_EQ(captured.credits_used, 40);
  EXPECT_EQ(captured.credits_released, 60);
  EXPECT_EQ(captured.credits_available, 260);
  EXPECT_EQ(submit("alice", "k3", CaptureReservation{"res_1", 1}).rejection,
            Rejection::kReservationSettled);
  const auto balance = projections::balances::read(*pg_, "alice");
  ASSERT_TRUE(balance.has_value());
  EXPECT_EQ(balance->credits_available, 260);
  EXPECT_EQ(balance->credits_spent, 40);
  EXPECT_EQ(balance->version, 4);
  expect_verify_clean();
}

TEST_F(CommitterTest, ReplayedKeyReturnsTheFirstOutcomeAndAppendsNothing) {
  Outcome first = submit("alice", "same", ReserveCredits{10, "detect", 60, "res_a"});
  Outcome again = submit("alice", "same", ReserveCredits{10, "detect", 60, "res_b"});
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.reservation_id, "res_a");
  EXPECT_EQ(again.to_json(), first.to_json());
  EXPECT_EQ(count("SELECT count(*) FROM ledger_events"), 3);
  EXPECT_EQ(submit("alice", "same", ReserveCredits{11, "detect", 60, "res_c"}).rejection,
            Rejection::kIdempotencyConflict);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_events"), 3);
  // Keys are scoped per account.
  EXPECT_FALSE(submit("bob", "same", ReserveCredits{10, "detect", 60, "res_d"}).replayed);
}

TEST_F(CommitterTest, SameKeyFromEightThreadsHasExactlyOneEffect) {
  std::vector<Outcome> outcomes(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      outcomes[i] = submit("carol", "shared-key",
                           ReserveCredits{50, "humanize", 60, "res_t" + std::to_string(i)});
    });
  }
  for (auto& thread : threads) thread.join();
  for (const Outcome& o : outcomes) {
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o.reservation_id, outcomes[0].reservation_id);
    EXPECT_EQ(o.credits_available, 250);
  }
  EXPECT_EQ(count("SELECT count(*) FROM ledger_events WHERE event_type = 'CreditsReserved'"), 1);
  EXPECT_EQ(projections::balances::read(*pg_, "carol")->credits_reserved, 50);
  expect_verify_clean();
}

// 32 threads x 500 mixed reserve/capture/release with random amounts on ONE account.
TEST_F(CommitterTest, ThirtyTwoThreadsOnOneAccountKeepEveryInvariant) {
  ASSERT_TRUE(submit("hot", "grant", GrantCredits{300'000, "load test", "admin"}).ok());
  constexpr int kThreads = 32;
  constexpr int kOpsPerThread = 500;
  std::atomic<int64_t> negative_seen{0};
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> insufficient{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 random(static_cast<uint64_t>(t) * 7919 + 1);
      std::vector<std::pair<std::string, int64_t>> open;
      for (int i = 0; i < kOpsPerThread; ++i) {
        const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        Outcome o;
        if (open.empty() || random() % 2 == 0) {
          const std::string id = "res_" + key;
          const int64_t amount = 1 + static_cast<int64_t>(random() % 400);
          o = submit("hot", key, ReserveCredits{amount, "humanize", 600, id});
          if (o.ok()) open.emplace_back(id, amount);
        } else {
          const auto [id, amount] = open.back();
          open.pop_back();
          if (random() % 3 == 0) {
            o = submit("hot", key, ReleaseReservation{id});
          } else {
            o = submit("hot", key,
                       CaptureReservation{id, 1 + static_cast<int64_t>(random() % amount)});
          }
          EXPECT_TRUE(o.ok()) << rejection_code(o.rejection);
        }
        if (o.ok()) accepted.fetch_add(1);
        if (o.rejection == Rejection::kInsufficientCredits) insufficient.fetch_add(1);
        if (o.credits_available < 0 || o.credits_reserved < 0) negative_seen.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(negative_seen.load(), 0);
  EXPECT_GT(accepted.load(), kThreads * kOpsPerThread / 2);
  // The credits run out part-way, so the overdraft guard is exercised under contention.
  EXPECT_GT(insufficient.load(), 0);
  std::printf("32x500: %lld accepted, %lld insufficient\n", static_cast<long long>(accepted.load()),
              static_cast<long long>(insufficient.load()));
  const auto folded = fold_stream(*pg_, "hot", std::numeric_limits<int64_t>::max());
  const auto balance = projections::balances::read(*pg_, "hot");
  ASSERT_TRUE(folded && balance);
  EXPECT_TRUE(full_invariants_hold(*folded));
  EXPECT_EQ(folded->credits_available, balance->credits_available);
  EXPECT_EQ(folded->credits_reserved, balance->credits_reserved);
  EXPECT_EQ(folded->credits_spent, balance->credits_spent);
  EXPECT_EQ(folded->version, balance->version);
  expect_verify_clean();
}

TEST_F(CommitterTest, TwoCommittersOnOneDatabaseKeepEveryInvariant) {
  CommitterOptions options = options_on(db_.url());
  auto second = Committer::start(options, plans_);
  std::vector<std::thread> threads;
  std::atomic<int64_t> reserved_ok{0};
  for (int t = 0; t < 16; ++t) {
    Committer* committer = t % 2 == 0 ? committer_.get() : second.get();
    threads.emplace_back([&, t, committer] {
      for (int i = 0; i < 60; ++i) {
        const std::string key = "two-" + std::to_string(t) + "-" + std::to_string(i);
        const std::string account = i % 3 == 0 ? "shared" : "acct-" + std::to_string(i % 5);
        Outcome o = committer->submit(make(account, key, ReserveCredits{7, "detect", 600, "res_" + key})).get();
        if (o.ok()) {
          reserved_ok.fetch_add(1);
          EXPECT_TRUE(committer->submit(make(account, key + "-c", CaptureReservation{"res_" + key, 5})).get().ok());
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // Both committers race on the same idempotency key: one effect.
  auto a = committer_->submit(make("shared", "race", GrantCredits{5, "r", "admin"}));
  auto b = second->submit(make("shared", "race", GrantCredits{5, "r", "admin"}));
  EXPECT_EQ(a.get().version, b.get().version);
  EXPECT_EQ(count("SELECT count(*) FROM ledger_events WHERE event_type = 'CreditsReserved'"),
            reserved_ok.load());
  EXPECT_EQ(count("SELECT count(*) FROM ledger_events WHERE metadata->>'idempotency_key' = 'race'"), 1);
  expect_verify_clean();
}

TEST_F(CommitterTest, ExportWritesTheRangeAsCsvAndJsonLines) {
  ASSERT_TRUE(submit("exp", "k1", GrantCredits{7, "a, \"quoted\" reason", "admin"}).ok());
  std::ostringstream csv;
  EXPECT_EQ(audit::export_events(*pg_, 0, std::numeric_limits<int64_t>::max() / 2,
                                       audit::ExportFormat::kCsv, csv),
            3);  // opened, allowance, grant
  const std::string text = csv.str();
  EXPECT_EQ(text.rfind("global_position,stream_id,", 0), 0u);
  EXPECT_NE(text.find("\"{\"\"amount\"\":7,\"\"reason\"\":\"\"a, \\\"\"quoted"), std::string::npos)
      << text;  // RFC 4180 quoting of the JSON payload
  std::ostringstream jsonl;
  EXPECT_EQ(audit::export_events(*pg_, 0, std::numeric_limits<int64_t>::max() / 2,
                                       audit::ExportFormat::kJsonLines, jsonl),
            3);
  EXPECT_NE(jsonl.str().find("\"type\":\"CreditsGranted\",\"recorded_at\""), std::string::npos);
  EXPECT_NE(jsonl.str().find("\"payload\":{\"amount\":7,"), std::string::npos);
  std::ostringstream empty;
  EXPECT_EQ(audit::export_events(*pg_, 0, 1, audit::ExportFormat::kJsonLines,
                                       empty),
            0);
  EXPECT_EQ(empty.str(), "");
}

TEST_F(CommitterTest, EventsCannotBeUpdatedDeletedOrTruncated) {
  ASSERT_TRUE(submit("dave", "k", OpenAccount{}).ok());
  for (const char* sql : {"UPDATE ledger_events SET payload = '{}'",
                          "DELETE FROM ledger_events", "TRUNCATE ledger_events"}) {
    pqxx::work work(*connection_);
    EXPECT_THROW(work.exec0(sql), pqxx::sql_error) << sql;
  }
  EXPECT_EQ(count("SELECT count(*) FROM ledger_events"), 2);
}

TEST_F(CommitterTest, VerifyNamesAnEventEditedBehindTheTriggers) {
  ASSERT_TRUE(submit("erin", "k1", ReserveCredits{10, "humanize", 60, "res_1"}).ok());
  ASSERT_TRUE(submit("frank", "k1", OpenAccount{}).ok());
  expect_verify_clean();
  {
    // As a superuser could: bypass the triggers and rewrite history.
    pqxx::work work(*connection_);
    work.exec0("SET session_replication_role = replica");
    work.exec0(
        "UPDATE ledger_events SET payload = '{\"amount\":3000,\"reason\":\"free plan allowance\","
        "\"source\":\"plan_allowance\",\"period_key\":\"\"}'"
        " WHERE stream_id = 'erin' AND stream_version = 2");
    work.commit();
  }
  const auto report = audit::verify_ledger(*pg_);
  EXPECT_FALSE(report.clean);
  EXPECT_EQ(report.stream_id, "erin");
  EXPECT_EQ(report.stream_version, 2);
  EXPECT_NE(report.problem.find("hash"), std::string::npos) << report.problem;
}

TEST_F(CommitterTest, VerifyReportsDisabledImmutabilityTriggers) {
  ASSERT_TRUE(submit("hal", "k1", OpenAccount{}).ok());
  {
    pqxx::work work(*connection_);
    work.exec0("ALTER TABLE ledger_events DISABLE TRIGGER ledger_events_no_update_delete");
    work.commit();
  }
  const auto report = audit::verify_ledger(*pg_);
  EXPECT_FALSE(report.clean);
  EXPECT_NE(report.problem.find("ledger_events"), std::string::npos) << report.problem;
}

TEST_F(CommitterTest, VerifyReportsAProjectionThatDriftedFromItsEvents) {
  ASSERT_TRUE(submit("gina", "k1", OpenAccount{}).ok());
  {
    pqxx::work work(*connection_);
    work.exec0(
        "UPDATE ledger_accounts SET credits_available = credits_available + 1,"
        " credits_granted = credits_granted + 1 WHERE account_id = 'gina'");
    work.commit();
  }
  const auto report = audit::verify_ledger(*pg_);
  EXPECT_FALSE(report.clean);
  EXPECT_EQ(report.stream_id, "gina");
  // Replay rebuilds the projection from the log.
  EXPECT_EQ(audit::replay_projections(*pg_), 1);
  expect_verify_clean();
}

// The reservation rows are compared with the fold side by side in id order: a row renamed,
// edited or removed is named with its account.
TEST_F(CommitterTest, VerifyNamesATamperedReservationRow) {
  for (int r = 0; r < 3; ++r) {
    const std::string id = "res_" + std::to_string(r);
    ASSERT_TRUE(submit("rita", "r" + id, ReserveCredits{5, "humanize", 60, id}).ok());
  }
  ASSERT_TRUE(submit("rita", "c", CaptureReservation{"res_1", 2}).ok());
  expect_verify_clean();
  const auto tampered = [&](const std::string& sql, const std::string& problem) {
    {
      pqxx::work work(*connection_);
      work.exec0(sql);
      work.commit();
    }
    const auto report = audit::verify_ledger(*pg_);
    EXPECT_FALSE(report.clean) << sql;
    EXPECT_EQ(report.stream_id, "rita") << sql;
    EXPECT_NE(report.problem.find(problem), std::string::npos) << sql << ": " << report.problem;
    EXPECT_EQ(audit::replay_projections(*pg_), 1);
    expect_verify_clean();
  };
  tampered("UPDATE ledger_reservations SET reservation_id = 'res_9' WHERE reservation_id = 'res_0'",
           "reservation res_9 has no events");
  tampered(
      "UPDATE ledger_reservations SET reservation_id = 'res_0a' WHERE reservation_id = 'res_0'",
      "reservation res_0a has no events");
  tampered("UPDATE ledger_reservations SET amount_captured = 3 WHERE reservation_id = 'res_1'",
           "reservation res_1 differs from the fold of its events");
  tampered("DELETE FROM ledger_reservations WHERE reservation_id = 'res_2'",
           "reservation projection has 2 rows, fold has 3");
  // Each field: verify reads the rows against the fold as they come, then names the row.
  for (const std::string set :
       {"amount = 6", "feature = 'detect'", "expires_at = expires_at + interval '1 microsecond'",
        "status = 'released'", "draws = '[]'", R"(draws = '[{"bucket_id":"other","amount":5}]')",
        R"(draws = replace(draws::text, '"amount":5', '"amount":4')::json)"}) {
    tampered("UPDATE ledger_reservations SET " + set + " WHERE reservation_id = 'res_2'",
             "reservation res_2 differs from the fold of its events");
  }
  // The same draws in other JSON spelling are the same draws.
  {
    pqxx::work work(*connection_);
    work.exec0("UPDATE ledger_reservations SET draws = (' ' || draws::text || ' ')::json");
    work.commit();
  }
  expect_verify_clean();
}

// The scan's COPY of the log parses (ledger::parse_event) to exactly the events the
// row-by-row reads give (parse_events), quotes and UTF-8 in the payload included; a row
// that is not an event's nine columns, or holds a NULL, is refused.
TEST_F(CommitterTest, TheLogCopyParsesToTheStoredEventsAndRefusesOtherRows) {
  ASSERT_TRUE(submit("copy", "k1", OpenAccount{}).ok());
  ASSERT_TRUE(
      submit("copy", "k2", GrantCredits{7, "caf\xC3\xA9 \"quoted\" \\ reason", "admin"}).ok());
  ASSERT_TRUE(submit("copy", "k3", ReserveCredits{5, "humanize", 60, "res_1"}).ok());
  const std::vector<StoredEvent> stored = read_stream(*pg_, "copy", 0, 100);
  ASSERT_GE(stored.size(), 3U);  // the three commands, and what they entail

  pg_->pipeline(std::vector<pg::Statement>{{"", "BEGIN", {}}, log_copy_setup()});
  pg_->start_copy_out(log_copy_sql());
  std::vector<StoredEvent> copied;
  std::string_view row;
  while (pg_->next_copy_row(row)) parse_event(row, copied.emplace_back());
  pg_->exec({"", "COMMIT", {}});
  ASSERT_EQ(copied.size(), stored.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(copied[i].stream_id, stored[i].stream_id);
    EXPECT_EQ(copied[i].stream_version, stored[i].stream_version);
    EXPECT_EQ(copied[i].global_position, stored[i].global_position);
    EXPECT_EQ(copied[i].event_id, stored[i].event_id);
    EXPECT_EQ(copied[i].event_type, stored[i].event_type);
    EXPECT_EQ(copied[i].payload, stored[i].payload);
    EXPECT_EQ(copied[i].metadata, stored[i].metadata);
    EXPECT_EQ(copied[i].recorded_at_us, stored[i].recorded_at_us);
    EXPECT_EQ(copied[i].hash, stored[i].hash);
    EXPECT_EQ(event_hash(i == 0 ? empty_account("").last_hash : copied[i - 1].hash, copied[i]),
              copied[i].hash);
  }

  for (const std::string select :
       {"SELECT stream_id FROM ledger_events LIMIT 1",
        "SELECT stream_id, stream_version, global_position, event_id, event_type, payload,"
        " metadata, recorded_at, NULL::bytea FROM ledger_events LIMIT 1"}) {
    pg_->start_copy_out("COPY (" + select + ") TO STDOUT (FORMAT binary)");
    ASSERT_TRUE(pg_->next_copy_row(row));
    const std::string bytes(row);
    EXPECT_FALSE(pg_->next_copy_row(row));
    StoredEvent event;
    EXPECT_THROW(parse_event(bytes, event), std::runtime_error) << select;
  }
}

// More than one page of the log (20,000 events) and more than one chunk of accounts (100):
// a reader thread reads the pages on a second connection in the caller's snapshot while the
// scan folds, compares chunks (verify) or sends their writes ahead (replay). A problem found
// in the second chunk, with pages queued and the first chunk's writes in flight, rolls the
// whole replay back and leaves the connection usable.
TEST_F(CommitterTest, VerifyAndReplayAcrossPagesAndChunks) {
  constexpr int kAccounts = 120;
  constexpr int kGrants = 170;
  for (int g = 0; g < kGrants; ++g) {  // one wave per grant: within the queue's bound
    std::vector<std::future<Outcome>> outcomes;
    for (int a = 0; a < kAccounts; ++a) {
      char account[16];
      std::snprintf(account, sizeof account, "acct-%03d", a);
      outcomes.push_back(committer_->submit(
          make(account, "g" + std::to_string(g), GrantCredits{1 + g, "load", "admin"})));
    }
    for (auto& outcome : outcomes) ASSERT_TRUE(outcome.get().ok());
  }
  ASSERT_GT(count("SELECT count(*) FROM ledger_events"), 20'000);
  expect_verify_clean();
  EXPECT_EQ(audit::replay_projections(*pg_), kAccounts);
  expect_verify_clean();

  {
    pqxx::work work(*connection_);
    work.exec0("SET session_replication_role = replica");
    work.exec0(
        "UPDATE ledger_events SET payload = '{\"amount\":9999,\"reason\":\"load\","
        "\"source\":\"admin\"}' WHERE stream_id = 'acct-110' AND stream_version = 3");
    work.commit();
  }
  const auto report = audit::verify_ledger(*pg_);
  EXPECT_FALSE(report.clean);
  EXPECT_EQ(report.stream_id, "acct-110");
  EXPECT_EQ(report.stream_version, 3);
  const std::string credits = "SELECT sum(credits_available) FROM ledger_accounts";
  const int64_t credits_before = count(credits);
  ASSERT_GE(credits_before, kAccounts * kGrants * (kGrants + 1) / 2);  // the grants at least
  EXPECT_THROW(audit::replay_projections(*pg_), std::runtime_error);
  // The connection answers again, and nothing of the replay stayed: it cleared every
  // projection and rewrote the first chunk before it failed, and all of it rolled back.
  EXPECT_NO_THROW(pg_->ping());
  EXPECT_EQ(count("SELECT count(*) FROM ledger_accounts"), kAccounts);
  EXPECT_EQ(count(credits), credits_before);
  const auto after = audit::verify_ledger(*pg_);
  EXPECT_EQ(after.stream_id, "acct-110");
  EXPECT_EQ(after.stream_version, 3);
}

// Replay writes reservation rows by a COPY it does not wait for while it folds on: a row the
// table refuses fails the replay (the COPY's error, received before the rollback), leaves
// every projection as it was, and the connection usable.
TEST_F(CommitterTest, AReplayWhoseReservationRowsAreRefusedChangesNothing) {
  for (const std::string account : {"alice", "bob", "carol"}) {
    ASSERT_TRUE(submit(account, "r1", ReserveCredits{10, "detect", 60, "res_1"}).ok());
    ASSERT_TRUE(submit(account, "r2", ReserveCredits{20, "detect", 60, "res_2"}).ok());
    ASSERT_TRUE(submit(account, "c1", CaptureReservation{"res_1", 5}).ok());
  }
  {
    pqxx::work work(*connection_);
    work.exec0(
        "ALTER TABLE ledger_reservations ADD CONSTRAINT refuse_bob_res_2"
        " CHECK (account_id <> 'bob' OR reservation_id <> 'res_2') NOT VALID");
    work.commit();
  }
  const std::string rows =
      "SELECT count(*) * 1000000 + sum(amount) * 1000 + sum(amount_captured)"
      " FROM ledger_reservations";
  const std::string credits = "SELECT sum(credits_available) FROM ledger_accounts";
  const int64_t rows_before = count(rows);
  const int64_t credits_before = count(credits);
  try {
    audit::replay_projections(*pg_);
    FAIL() << "the refused reservation row was replayed";
  } catch (const pg::Error& error) {
    EXPECT_EQ(error.kind(), pg::ErrorKind::kConstraint) << error.what();
  }
  EXPECT_NO_THROW(pg_->ping());
  EXPECT_EQ(count(rows), rows_before);
  EXPECT_EQ(count(credits), credits_before);
  {
    pqxx::work work(*connection_);
    work.exec0("ALTER TABLE ledger_reservations DROP CONSTRAINT refuse_bob_res_2");
    work.commit();
  }
  expect_verify_clean();
  EXPECT_EQ(audit::replay_projections(*pg_), 3);
  EXPECT_EQ(count(rows), rows_before);
  expect_verify_clean();
}

// The log's reader runs on a second connection: when that one cannot be had (here a role
// allowed one connection), verify and replay fail with the reader's error instead of
// hanging or reporting a clean log, replay changes nothing, and the caller's connection is
// usable again.
TEST_F(CommitterTest, AReaderThatCannotConnectFailsVerifyAndReplay) {
  for (int g = 0; g < 3; ++g) {
    ASSERT_TRUE(submit("solo", "g" + std::to_string(g), GrantCredits{5, "load", "admin"}).ok());
  }
  const std::string credits =
      "SELECT credits_available FROM ledger_accounts WHERE account_id = 'solo'";
  const int64_t credits_before = count(credits);
  ASSERT_GE(credits_before, 15);
  const std::string role = "one_connection_" + db_.name();
  {
    pqxx::nontransaction work(*connection_);
    work.exec0("CREATE ROLE " + role + " LOGIN CONNECTION LIMIT 1");
    work.exec0("GRANT pg_read_all_data, pg_write_all_data TO " + role);
    work.exec0("GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO " + role);  // replay's
  }
  {
    const std::string prefix = "postgresql://postgres@";
    ASSERT_EQ(db_.url().rfind(prefix, 0), 0u) << db_.url();
    pg::Connection limited(pg::ConnectionOptions{.url = "postgresql://" + role + "@" +
                                                        db_.url().substr(prefix.size())});
    // The error is the reader's refused connection, not another failure on the way.
    const auto reader_refused = [](const auto& run) {
      try {
        run();
      } catch (const pg::Error& error) {
        return std::string(error.what()).find("too many connections") != std::string::npos;
      }
      return false;
    };
    EXPECT_TRUE(reader_refused([&] { audit::verify_ledger(limited); }));
    EXPECT_NO_THROW(limited.ping());
    EXPECT_TRUE(reader_refused([&] { audit::replay_projections(limited); }));
    EXPECT_NO_THROW(limited.ping());
  }
  EXPECT_EQ(count(credits), credits_before);
  expect_verify_clean();
  pqxx::nontransaction work(*connection_);
  work.exec0("DROP OWNED BY " + role);
  work.exec0("DROP ROLE " + role);
}

// Replay empties the projection tables with TRUNCATE, which is not MVCC-safe: a verify whose
// snapshot predated the replay's commit would find every row missing. Verify takes its
// snapshot after a lock that waits for the replay, so it sees the rebuilt tables, and the
// committer's writes wait for the replay and then go on.
TEST_F(CommitterTest, AVerifyDuringAReplayWaitsForItAndSeesTheRebuiltProjections) {
  for (int a = 0; a < 3; ++a) {
    const std::string account = "during-" + std::to_string(a);
    ASSERT_TRUE(submit(account, "g", GrantCredits{7, "load", "admin"}).ok());
  }
  const auto verify_pg = db_.connect_pg();
  const auto watcher = db_.connect();
  // Whether some backend waits for a lock.
  const auto someone_waits = [&] {
    pqxx::nontransaction work(*watcher);
    return work.exec1("SELECT count(*) FROM pg_locks WHERE NOT granted")[0].as<int64_t>() > 0;
  };
  std::future<audit::VerifyReport> verify;
  std::future<Outcome> write;
  bool waited = false;
  // The progress callback runs inside the replay's transaction, after the TRUNCATE: start a
  // verify and a write there and see both wait.
  const int64_t streams = audit::replay_projections(*pg_, [&](int64_t, int64_t) {
    if (verify.valid()) return;
    verify = std::async(std::launch::async, [&] { return audit::verify_ledger(*verify_pg); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!someone_waits() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    waited = someone_waits();
    EXPECT_EQ(verify.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
    write = committer_->submit(make("during-0", "after", GrantCredits{1, "load", "admin"}));
    EXPECT_EQ(write.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  });
  EXPECT_EQ(streams, 3);
  ASSERT_TRUE(verify.valid());
  EXPECT_TRUE(waited);
  const audit::VerifyReport report = verify.get();
  EXPECT_TRUE(report.clean) << report.problem << " at " << report.stream_id;
  EXPECT_EQ(report.streams_checked, 3);
  ASSERT_TRUE(write.valid());
  EXPECT_TRUE(write.get().ok());
  EXPECT_EQ(count("SELECT credits_granted FROM ledger_accounts WHERE account_id = 'during-0'"),
            count("SELECT credits_granted FROM ledger_accounts WHERE account_id = 'during-1'") + 1);
  expect_verify_clean();
}

// The committer's connection is killed inside the batch transaction: nothing of that
// attempt lands; the retry (safe by idempotency) commits each command exactly once.
TEST(CommitterCrash, ConnectionKilledMidBatchLeavesNothingHalfWritten) {
  TestDatabase db;
  auto killer = db.connect();
  std::mutex killer_mutex;  // the hook runs on every lane thread
  std::atomic<int> kills{0};
  CommitterOptions options = options_on(db.url());
  options.before_commit_for_tests = [&](int attempt, int pid) {
    if (attempt != 1) return;
    kills.fetch_add(1);
    std::lock_guard lock(killer_mutex);
    pqxx::nontransaction work(*killer);
    work.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  };
  const PlanCatalog catalog = plans();
  auto committer = Committer::start(options, catalog);
  std::vector<std::future<Outcome>> futures;
  for (int i = 0; i < 20; ++i) {
    futures.push_back(committer->submit(
        make("acct-" + std::to_string(i % 4), "k" + std::to_string(i), GrantCredits{10, "x", "admin"})));
  }
  for (auto& future : futures) EXPECT_TRUE(future.get().ok());
  EXPECT_GE(kills.load(), 1);
  auto connection = db.connect();
  pqxx::read_transaction work(*connection);
  EXPECT_EQ(work.exec1("SELECT count(*) FROM ledger_events WHERE event_type = 'CreditsGranted'"
                       " AND payload->>'source' = 'admin'")[0].as<int64_t>(), 20);
  work.commit();
  EXPECT_TRUE(audit::verify_ledger(*db.connect_pg()).clean);
}

TEST(CommitterCrash, EveryAttemptKilledFailsTheFuturesAndWritesNothing) {
  TestDatabase db;
  auto killer = db.connect();
  std::mutex killer_mutex;
  CommitterOptions options = options_on(db.url());
  options.before_commit_for_tests = [&](int, int pid) {
    std::lock_guard lock(killer_mutex);
    pqxx::nontransaction work(*killer);
    work.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  };
  const PlanCatalog catalog = plans();
  auto committer = Committer::start(options, catalog);
  auto future = committer->submit(make("zed", "k", ReserveCredits{5, "f", 60, "res_z"}));
  EXPECT_THROW(future.get(), LedgerUnavailable);
  auto connection = db.connect();
  pqxx::read_transaction work(*connection);
  EXPECT_EQ(work.exec1("SELECT count(*) FROM ledger_events")[0].as<int64_t>(), 0);
  EXPECT_EQ(work.exec1("SELECT count(*) FROM ledger_idempotency")[0].as<int64_t>(), 0);
}

// A command that the database refuses (here: a projection row made inconsistent behind the
// committer's back, so the upsert breaks a CHECK) fails alone; the other commands of its
// batch commit.
TEST(CommitterIsolation, OneFailingCommandDoesNotFailItsBatch) {
  TestDatabase db;
  const PlanCatalog catalog = plans();
  CommitterOptions options = options_on(db.url());
  auto committer = Committer::start(options, catalog);
  ASSERT_TRUE(committer->submit(make("poisoned", "k0", OpenAccount{})).get().ok());
  auto connection = db.connect();
  {
    // A stale stream_version: the next append collides with an existing event.
    pqxx::work work(*connection);
    work.exec0("UPDATE ledger_accounts SET stream_version = 1 WHERE account_id = 'poisoned'");
    work.commit();
  }
  // Hold the writer on a lock the test owns, so the next eleven commands queue into one batch.
  auto holder = db.connect();
  pqxx::work lock(*holder);
  lock.exec("SELECT pg_advisory_xact_lock(hashtextextended('blocker', 0))");
  auto blocker = committer->submit(make("blocker", "k", OpenAccount{}));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<std::future<Outcome>> healthy;
  auto poisoned = committer->submit(make("poisoned", "k1", GrantCredits{5, "x", "admin"}));
  for (int i = 0; i < 10; ++i) {
    healthy.push_back(committer->submit(
        make("healthy-" + std::to_string(i), "k", GrantCredits{5, "x", "admin"})));
  }
  lock.commit();
  EXPECT_TRUE(blocker.get().ok());
  EXPECT_THROW(poisoned.get(), LedgerUnavailable);
  for (auto& future : healthy) EXPECT_TRUE(future.get().ok());
  pqxx::read_transaction work(*connection);
  EXPECT_EQ(work.exec1("SELECT count(*) FROM ledger_accounts WHERE account_id LIKE 'healthy-%'")[0]
                .as<int>(),
            10);
}

TEST(CommitterSweeper, ExpiresOverdueReservationsAsEvents) {
  TestDatabase db;
  CommitterOptions options = options_on(db.url(), 100);
  const PlanCatalog catalog = plans();
  auto committer = Committer::start(options, catalog);
  ASSERT_TRUE(committer->submit(make("ivy", "k", ReserveCredits{25, "f", 1, "res_i"})).get().ok());
  auto connection = db.connect();
  auto reads = db.connect_pg();
  std::optional<projections::balances::BalanceView> balance;
  for (int i = 0; i < 60; ++i) {  // bounded wait: at most 6 s
    balance = projections::balances::read(*reads, "ivy");
    if (balance && balance->credits_reserved == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(balance.has_value());
  EXPECT_EQ(balance->credits_reserved, 0);
  EXPECT_EQ(balance->credits_available, 300);
  const Outcome late = committer->submit(make("ivy", "k2", CaptureReservation{"res_i", 5})).get();
  EXPECT_EQ(late.rejection, Rejection::kReservationExpired);
  EXPECT_TRUE(audit::verify_ledger(*db.connect_pg()).clean);
}

TEST(CommitterQueue, SubmitAfterShutdownIsOverloaded) {
  TestDatabase db;
  CommitterOptions options = options_on(db.url());
  const PlanCatalog catalog = plans();
  auto committer = Committer::start(options, catalog);
  auto accepted = committer->submit(make("kim", "k", OpenAccount{}));
  committer->shutdown();
  EXPECT_TRUE(accepted.get().ok()) << "queued work is flushed at shutdown";
  EXPECT_THROW(committer->submit(make("kim", "k2", OpenAccount{})).get(), LedgerOverloaded);
}

// submit with a Completion: each command's completion comes exactly once, on a lane thread
// for a command the lanes decide (committed, or dropped at its deadline with nothing
// written), and before submit returns, on the submitting thread, for one refused at once
// (unstorable text, or the committer shut down).
TEST(CommitterCompletion, ComesOnceOnTheLaneOrAtOnceWhenRefused) {
  TestDatabase db;
  CommitterOptions options = options_on(db.url());
  const PlanCatalog catalog = plans();
  struct Completed {
    int calls = 0;
    Outcome outcome;
    std::exception_ptr error;
    std::thread::id thread;
  };
  constexpr int kCommands = 200;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Completed> completed(kCommands + 2);
  int done = 0;
  const auto completion = [&](std::size_t index) {
    return [&, index](Outcome outcome, std::exception_ptr error) {
      std::lock_guard lock(mutex);
      Completed& slot = completed[index];
      slot.calls += 1;
      slot.outcome = std::move(outcome);
      slot.error = error;
      slot.thread = std::this_thread::get_id();
      done += 1;
      changed.notify_all();
    };
  };
  // Declared after what its completions use: destroyed (and its queue completed) first.
  auto committer = Committer::start(options, catalog);
  // A completion that throws: logged, and the lane goes on with the batch.
  int thrown_calls = 0;
  committer->submit(make("acct-0", "throws", OpenAccount{}), Committer::kNoDeadline,
                    [&](Outcome, std::exception_ptr) {
                      {
                        std::lock_guard lock(mutex);
                        ++thrown_calls;
                      }
                      throw std::runtime_error("a completion that throws");
                    });
  for (int i = 0; i < kCommands; ++i) {
    GrantCredits grant;
    grant.amount = 10;
    grant.reason = "completion test";
    committer->submit(make("acct-" + std::to_string(i % 16), "g" + std::to_string(i), grant),
                      Committer::kNoDeadline, completion(static_cast<std::size_t>(i)));
  }
  // Overdue before its turn: dropped unwritten.
  committer->submit(make("late", "k", OpenAccount{}),
                    Committer::Clock::now() - std::chrono::seconds(1), completion(kCommands));
  // Unstorable text: rejected before submit returns.
  ReserveCredits invalid;
  invalid.amount = 1;
  invalid.feature = "bad\xff";
  invalid.reservation_id = "res_x";
  committer->submit(make("acct-0", "bad", invalid), Committer::kNoDeadline,
                    completion(kCommands + 1));
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(completed[kCommands + 1].calls, 1) << "not answered before submit returned";
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(
        changed.wait_for(lock, std::chrono::seconds(30), [&] { return done == kCommands + 2; }));
  }
  for (int i = 0; i < kCommands; ++i) {
    const Completed& slot = completed[static_cast<std::size_t>(i)];
    EXPECT_EQ(slot.calls, 1) << i;
    EXPECT_FALSE(slot.error) << i;
    EXPECT_TRUE(slot.outcome.ok()) << i;
    EXPECT_NE(slot.thread, std::this_thread::get_id()) << i;
  }
  const Completed& late = completed[kCommands];
  ASSERT_TRUE(late.error);
  EXPECT_THROW(std::rethrow_exception(late.error), LedgerDeadlineExceeded);
  EXPECT_NE(late.thread, std::this_thread::get_id());
  const Completed& refused = completed[kCommands + 1];
  EXPECT_FALSE(refused.error);
  EXPECT_EQ(refused.outcome.rejection, Rejection::kInvalidCommand);
  EXPECT_EQ(refused.thread, std::this_thread::get_id());

  committer->shutdown();
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(done, kCommands + 2) << "a completion came twice";
    EXPECT_EQ(thrown_calls, 1);
  }
  int calls = 0;
  std::exception_ptr after_shutdown;
  committer->submit(make("kim", "k", OpenAccount{}), Committer::kNoDeadline,
                    [&](Outcome, std::exception_ptr error) {
                      ++calls;
                      after_shutdown = error;
                    });
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(after_shutdown);
  EXPECT_THROW(std::rethrow_exception(after_shutdown), LedgerOverloaded);

  auto connection = db.connect();
  pqxx::read_transaction work(*connection);
  EXPECT_EQ(work.exec1("SELECT count(*) FROM ledger_events WHERE event_type = 'CreditsGranted'")[0]
                .as<int64_t>(),
            kCommands + 16)
      << "each grant, and each account's free-plan grant when it opened";
  EXPECT_EQ(
      work.exec1("SELECT count(*) FROM ledger_events WHERE stream_id = 'late'")[0].as<int64_t>(),
      0);
  EXPECT_EQ(work.exec1("SELECT coalesce(sum(credits_available), 0) FROM ledger_accounts")[0]
                .as<int64_t>(),
            kCommands * 10 + 16 * 300);
}

TEST(Migrate, IsIdempotentAndSafeConcurrently) {
  TestDatabase db;  // already migrated once
  std::vector<std::thread> threads;
  std::atomic<int> applied{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto connection = db.connect();
      applied.fetch_add(migrate(*connection));
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(applied.load(), 0);
}

TEST(HashChain, CoversEveryStoredField) {
  StoredEvent event{"s", 1, 1, "id", "T", "{}", "{}", 5, ""};
  const std::string genesis(32, '\0');
  const std::string base = event_hash(genesis, event);
  StoredEvent changed = event;
  changed.payload = "{ }";
  EXPECT_NE(event_hash(genesis, changed), base);
  changed = event;
  changed.recorded_at_us = 6;
  EXPECT_NE(event_hash(genesis, changed), base);
  changed = event;
  changed.metadata = "{\"a\":1}";
  EXPECT_NE(event_hash(genesis, changed), base);
  EXPECT_NE(event_hash(std::string(32, '\1'), event), base);
}

// The stored format of the chain, pinned: SHA-256 of the previous hash, then stream id,
// version, event id, type, recorded_at (microseconds), payload and metadata, each as
// "<byte length>:<bytes>" (expected values computed outside the project, with Python's
// hashlib). Every database and digest written so far depends on it.
TEST(HashChain, KnownAnswers) {
  const StoredEvent first{"s", 1, 1, "id", "T", "{}", "{}", 5, ""};
  EXPECT_EQ(crypto::hex_encode(event_hash(std::string(32, '\0'), first)),
            "6a0a051367bdfb795015cc1c27e8e0918f347d0e0fb9a7920ea7adbd8812b5b5");
  const StoredEvent extremes{"acc-1",
                             INT64_MAX,
                             7,
                             "01234567-89ab-cdef-0123-456789abcdef",
                             "CreditsGranted",
                             "{\"n\":\"\xc3\xa9\"}",
                             "",
                             -1,
                             ""};
  EXPECT_EQ(crypto::hex_encode(event_hash(std::string(32, '\1'), extremes)),
            "dd2c7908cfcee7cda53c6137dcca9b4d58aa5671bfc0e97455cf7671689f9eb2");
}

}  // namespace
