// Digests end to end with the real ledgerctl: a signed digest of a clean log verifies, and
// keeps verifying as the log grows; after an attacker with database rights deletes a
// stream's tail, deletes a whole stream, or edits an event and recomputes its chain, and then
// runs replay so that plain `verify` is clean again, `verify --digest` fails; an inclusion
// proof checks offline and a forged one is refused.
#include "crypto/digest.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <pqxx/pqxx>
#include <thread>

#include "crypto/signature.h"
#include "ledger/store.h"
#include "tests/http/ledgerd_fixture.h"
#include "tests/support/ledgerctl_run.h"
#include "tests/support/ledgerd_process.h"

namespace http_tests {
namespace {

using testing_support::CommandResult;
using testing_support::run_ledgerctl;

constexpr const char* kDigestKey = "digest-key-for-tests-0123456789abcdef";

class DigestTest : public LedgerdTest {
 protected:
  void SetUp() override {
    LedgerdTest::SetUp();
    char path[] = "/tmp/ledger-digest-XXXXXX";
    ASSERT_NE(::mkdtemp(path), nullptr);
    directory_ = path;
    // Two accounts with a few events each.
    for (const char* account : {"ann", "ben"}) {
      const std::string user = token(account);
      for (int i = 0; i < 3; ++i) {
        const std::string id = string_field(parse_json(reserve(user, 10).body), "reservation_id");
        ASSERT_EQ(capture(user, id, 5).status, 200);
      }
    }
  }
  void TearDown() override {
    std::system(("rm -rf " + directory_).c_str());
    LedgerdTest::TearDown();
  }

  CommandResult ledgerctl(const std::vector<std::string>& args, const std::string& key = kDigestKey,
                          bool with_database = true) const {
    return run_ledgerctl(args, with_database ? database_->url() : "", {{"LEDGER_DIGEST_KEY", key}});
  }
  std::string file(const std::string& name) const { return directory_ + "/" + name; }
  std::string take_digest() const {
    const std::string path = file("digest.json");
    const CommandResult made = ledgerctl({"digest", "--out", path});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    return path;
  }
  // As a database superuser: statements with the immutability triggers off.
  void tamper(const std::vector<std::string>& statements) const {
    auto connection = database_->connect();
    pqxx::work work(*connection);
    work.exec0("SET LOCAL session_replication_role = replica");
    for (const std::string& statement : statements) work.exec0(statement);
    work.commit();
  }
  // The attacker's cover-up: projections rebuilt from the edited log; plain verify is clean.
  void replay_and_expect_plain_verify_clean() const {
    ASSERT_EQ(ledgerctl({"replay"}).exit_code, 0);
    const CommandResult plain = ledgerctl({"verify"});
    EXPECT_EQ(plain.exit_code, 0) << plain.out;
  }
  std::string directory_;
};

TEST_F(DigestTest, ACleanLogVerifiesAndKeepsVerifyingAsItGrows) {
  const std::string digest = take_digest();
  std::ifstream in(digest);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const rapidjson::Document document = parse_json(text);
  EXPECT_EQ(int_field(document, "count"), event_count("ann") + event_count("ben"));
  EXPECT_EQ(std::string(document["algorithm"].GetString()), "hmac-sha256");
  CommandResult verified = ledgerctl({"verify", "--digest", digest});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("digest OK"), std::string::npos) << verified.out;
  ASSERT_EQ(reserve(token("ann"), 1).status, 201);  // after the digest: not covered, fine
  verified = ledgerctl({"verify", "--digest", digest});
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  // Another key, or no key: the signature does not hold.
  EXPECT_EQ(ledgerctl({"verify", "--digest", digest}, "another-key-of-enough-length-0123456789")
                .exit_code,
            1);
  EXPECT_EQ(ledgerctl({"digest"}, "short").exit_code, 2);
}

TEST_F(DigestTest, TailDeletionThenReplayIsCaught) {
  const std::string digest = take_digest();
  const int64_t last = event_count("ben");
  tamper({"DELETE FROM ledger_events WHERE stream_id = 'ben' AND stream_version = " +
          std::to_string(last)});
  replay_and_expect_plain_verify_clean();
  const CommandResult verified = ledgerctl({"verify", "--digest", digest});
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_NE(verified.out.find("deleted"), std::string::npos) << verified.out << verified.err;
}

TEST_F(DigestTest, AStreamDeletedWholeIsCaught) {
  const std::string digest = take_digest();
  tamper({"DELETE FROM ledger_events WHERE stream_id = 'ann'",
          "DELETE FROM ledger_idempotency WHERE account_id = 'ann'"});
  replay_and_expect_plain_verify_clean();
  const CommandResult verified = ledgerctl({"verify", "--digest", digest});
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_NE(verified.out.find("deleted"), std::string::npos) << verified.out << verified.err;
}

TEST_F(DigestTest, AnEditWithARecomputedChainIsCaught) {
  const std::string digest = take_digest();
  // Ann's opening grant becomes 3,000 credits; every later hash of her stream recomputed
  // with the project's own function, so the chain links again.
  std::vector<ledger::StoredEvent> events = stored_events("ann");
  ASSERT_GE(events.size(), 2u);
  ASSERT_EQ(events[1].event_type, "CreditsGranted");
  const std::size_t at = events[1].payload.find("300");
  ASSERT_NE(at, std::string::npos);
  events[1].payload.replace(at, 3, "3000");
  std::vector<std::string> statements;
  std::string previous = events[0].hash;
  for (std::size_t i = 1; i < events.size(); ++i) {
    events[i].hash = ledger::event_hash(previous, events[i]);
    previous = events[i].hash;
    statements.push_back("UPDATE ledger_events SET payload = '" + events[i].payload +
                         "', hash = '\\x" + crypto::hex_encode(events[i].hash) +
                         "' WHERE stream_id = 'ann' AND stream_version = " +
                         std::to_string(events[i].stream_version));
  }
  tamper(statements);
  replay_and_expect_plain_verify_clean();
  EXPECT_EQ(balance_row("ann")->credits_available, 3000 - 15);
  const CommandResult verified = ledgerctl({"verify", "--digest", digest});
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_NE(verified.out.find("Merkle root"), std::string::npos) << verified.out;
}

TEST_F(DigestTest, AProofChecksOfflineAndAForgedOneIsRefused) {
  const std::string digest = take_digest();
  const CommandResult proved = ledgerctl({"prove", "ben", "4", "--digest", digest});
  ASSERT_EQ(proved.exit_code, 0) << proved.err;
  const std::string proof = file("proof.json");
  std::ofstream(proof) << proved.out;
  // No database: the proof and the digest suffice.
  const CommandResult checked =
      ledgerctl({"check-proof", proof, "--digest", digest}, kDigestKey, false);
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_NE(checked.out.find("VALID"), std::string::npos);
  // A forged amount, a forged path step, another event's hash: each refused.
  const auto forged = [&](const std::string& from, const std::string& to) {
    std::string text = proved.out;
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    const std::string path = file("forged.json");
    std::ofstream(path) << text;
    return ledgerctl({"check-proof", path, "--digest", digest}, kDigestKey, false);
  };
  const rapidjson::Document document = parse_json(proved.out);
  const std::string hash = document["hash"].GetString();
  const std::string step = document["path"][0].GetString();
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {R"(\"amount_captured\":5)", R"(\"amount_captured\":1)"},
           {step, std::string(step.size(), 'a')},
           {R"("leaf_index":)", R"("leaf_index":1)"}}) {
    const CommandResult refused = forged(from, to);
    EXPECT_EQ(refused.exit_code, 1) << from << "\n" << refused.out << refused.err;
    EXPECT_NE(refused.out.find("INVALID"), std::string::npos) << refused.out;
  }
  EXPECT_EQ(ledgerctl({"check-proof", proof, "--digest", digest},
                      "another-key-of-enough-length-0123456789", false)
                .exit_code,
            1);
  EXPECT_EQ(ledgerctl({"prove", "ben", "999", "--digest", digest}).exit_code, 1);
  // Bad input: usage errors (2), nothing checked.
  EXPECT_EQ(ledgerctl({"prove", "ben", "0", "--digest", digest}).exit_code, 2);
  EXPECT_EQ(ledgerctl({"check-proof", file("missing.json"), "--digest", digest}, kDigestKey, false)
                .exit_code,
            2);
  std::ofstream(file("malformed.json")) << R"({"version":1,"algorithm":"hmac-sha256","position":"x"})";
  const CommandResult malformed =
      ledgerctl({"check-proof", proof, "--digest", file("malformed.json")}, kDigestKey, false);
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.err.find("malformed"), std::string::npos) << malformed.err;
  EXPECT_EQ(ledgerctl({"verify", "--digest", file("missing.json")}).exit_code, 2);
}

// ledgerd writes digests on a schedule into --digest_dir, keeps the newest --digest_keep,
// and each verifies; without a key it refuses to start.
TEST_F(DigestTest, LedgerdWritesScheduledDigestsAndKeepsTheNewest) {
  testing_support::LedgerdOptions options;
  options.database_url = database_->url();
  options.extra_flags = {"--digest_dir=" + directory_, "--digest_interval_s=1", "--digest_keep=2"};
  EXPECT_NE(testing_support::start_failure(options).find("LEDGER_DIGEST_KEY"), std::string::npos);
  options.env = {{"LEDGER_DIGEST_KEY", kDigestKey}};
  testing_support::LedgerdProcess scheduled(options);
  std::vector<std::string> digests;
  for (int i = 0; i < 100; ++i) {
    if (i % 10 == 0) reserve(token("ann"), 1);  // the log grows between digests
    digests.clear();
    for (const auto& entry : std::filesystem::directory_iterator(directory_)) {
      if (entry.path().extension() == ".json") digests.push_back(entry.path().string());
    }
    if (digests.size() == 2 && i >= 40) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(digests.size(), 2u) << "two digests kept";
  // Stopped first: a digest written meanwhile would remove one of these.
  EXPECT_EQ(scheduled.stop(SIGTERM, std::chrono::seconds(20)), 0);
  digests.clear();
  for (const auto& entry : std::filesystem::directory_iterator(directory_)) {
    if (entry.path().extension() == ".json") digests.push_back(entry.path().string());
  }
  ASSERT_EQ(digests.size(), 2u);
  for (const std::string& digest : digests) {
    const CommandResult verified = ledgerctl({"verify", "--digest", digest});
    EXPECT_EQ(verified.exit_code, 0) << digest << " " << verified.out;
  }
  EXPECT_NE(scheduled.log_text().find("digest of"), std::string::npos);
}

// The global position trap: positions are drawn before their transactions commit, so under
// concurrent lanes a lower position can become visible after a higher one. Digests taken
// while 8 clients write must each still verify once the writers stop.
TEST_F(DigestTest, DigestsTakenUnderConcurrentWritesAllVerifyLater) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([this, t, &stop] {
      const std::string user = token("writer-" + std::to_string(t));
      while (!stop.load()) reserve(user, 1);
    });
  }
  std::vector<std::string> digests;
  for (int i = 0; i < 8; ++i) {
    const std::string path = file("concurrent-" + std::to_string(i) + ".json");
    const CommandResult made = ledgerctl({"digest", "--out", path});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    digests.push_back(path);
  }
  stop.store(true);
  for (std::thread& writer : writers) writer.join();
  for (const std::string& digest : digests) {
    const CommandResult verified = ledgerctl({"verify", "--digest", digest});
    EXPECT_EQ(verified.exit_code, 0) << digest << " " << verified.out;
  }
}

// The trap made certain: a transaction holds a lower position open while a higher one
// commits. The digest waits for it and covers it; a digest that did not wait would miss it
// and fail verification once it commits.
TEST_F(DigestTest, ADigestWaitsForATransactionHoldingALowerPosition) {
  auto holder = database_->connect();
  pqxx::work held(*holder);
  ledger::StoredEvent event;
  event.stream_id = "held";
  event.stream_version = 1;
  event.event_id = crypto::uuid_v4();
  event.event_type = "AccountOpened";
  event.payload = R"({"plan_id":"free"})";
  event.metadata = "{}";
  event.recorded_at_us = 1'700'000'000'000'000;
  const std::string hash = ledger::event_hash(std::string(crypto::kSha256Size, '\0'), event);
  held.exec_params(
      "INSERT INTO ledger_events (stream_id, stream_version, event_id, event_type, payload,"
      " metadata, recorded_at, hash) VALUES ($1, 1, $2::uuid, $3, $4::json, $5::json,"
      " to_timestamp(1700000000), decode($6, 'hex'))",
      event.stream_id, event.event_id, event.event_type, event.payload, event.metadata,
      crypto::hex_encode(hash));
  ASSERT_EQ(reserve(token("ann"), 1).status, 201);  // a higher position, committed first
  CommandResult made;
  std::thread digest([&] { made = ledgerctl({"digest", "--out", file("held.json")}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  held.commit();
  digest.join();
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const CommandResult verified = ledgerctl({"verify", "--digest", file("held.json")});
  EXPECT_NE(verified.out.find("digest OK"), std::string::npos) << verified.out;
}

// Ed25519: a digest signed with a private key file checks with the public key alone (no
// shared secret), proofs too; the HMAC key or another public key does not check it.
TEST_F(DigestTest, Ed25519DigestsCheckWithThePublicKeyOnly) {
  const crypto::Ed25519KeyPair pair = crypto::ed25519_generate();
  const crypto::Ed25519KeyPair other = crypto::ed25519_generate();
  std::ofstream(file("private.pem")) << pair.private_pem;
  std::ofstream(file("public.pem")) << pair.public_pem;
  std::ofstream(file("other.pem")) << other.public_pem;
  const std::string digest = file("ed25519.json");
  const CommandResult made =
      ledgerctl({"digest", "--out", digest, "--key-file", file("private.pem")}, "");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  CommandResult verified =
      ledgerctl({"verify", "--digest", digest, "--public-key", file("public.pem")}, "");
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("digest OK"), std::string::npos);
  verified = ledgerctl({"verify", "--digest", digest, "--public-key", file("other.pem")});
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_NE(verified.out.find("Ed25519"), std::string::npos) << verified.out;
  EXPECT_EQ(ledgerctl({"verify", "--digest", digest}).exit_code, 1)
      << "the HMAC key checks no Ed25519 digest";
  const CommandResult proved = ledgerctl({"prove", "ann", "2", "--digest", digest}, "");
  ASSERT_EQ(proved.exit_code, 0) << proved.err;
  std::ofstream(file("proof.json")) << proved.out;
  const CommandResult checked = ledgerctl(
      {"check-proof", file("proof.json"), "--digest", digest, "--public-key", file("public.pem")},
      "", false);
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_EQ(ledgerctl({"digest", "--key-file", file("public.pem")}, "").exit_code, 2)
      << "a public key cannot sign";
}

}  // namespace
}  // namespace http_tests
