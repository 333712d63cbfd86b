// `ledgerctl api-key list` and `api-key revoke` against a running ledgerd: the list never
// shows a key or its hash; a revocation (by key text or id, idempotent) refuses the key
// from the very next request, however warm the server's connections are; and every
// ledgerctl command answers --help.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

#include "crypto/digest.h"
#include "tests/http/ledgerd_fixture.h"
#include "tests/support/ledgerctl_run.h"

namespace http_tests {
namespace {

using testing_support::CommandResult;
using testing_support::http_get;
using testing_support::run_ledgerctl;

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// "lk_<id>_<secret>" -> "<id>".
std::string key_id_of(const std::string& key) { return key.substr(3, 16); }

class ApiKeyCommandsTest : public LedgerdTest {
 protected:
  // alice's account exists, so that an admin read of it is 200 when the key is accepted
  // (an account without events is 404 whatever the key).
  void SetUp() override {
    LedgerdTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_EQ(http_get(url("/api/v1/credits"), bearer(token("alice"))).status, 200);
  }
  CommandResult ledgerctl(const std::vector<std::string>& args) const {
    return run_ledgerctl(args, database_->url());
  }
  std::string create(const std::string& name, const std::string& scopes) const {
    const CommandResult created =
        ledgerctl({"api-key", "create", "--name", name, "--scopes", scopes});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    return trimmed(created.out);
  }
  // The status of an admin read with `key`: 200 when the key is accepted.
  long events_status(const std::string& key) const {
    return http_get(url("/api/v1/admin/accounts/alice/events"), bearer(key)).status;
  }
  // The list line of `key_id` ("" when absent).
  std::string list_line(const std::string& key_id) const {
    const CommandResult listed = ledgerctl({"api-key", "list"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    std::size_t at = listed.out.find("\n" + key_id + "\t");
    if (at == std::string::npos) return "";
    ++at;
    return listed.out.substr(at, listed.out.find('\n', at) - at);
  }
};

TEST_F(ApiKeyCommandsTest, ListShowsEveryKeyButNeverTheKeyOrItsHash) {
  const std::string ops = create("ops", "admin");
  const std::string checkout = create("checkout", "reserve,admin");
  const CommandResult listed = ledgerctl({"api-key", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out.substr(0, listed.out.find('\n')), "id\tname\tscopes\tcreated\trevoked");
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 3);
  const std::string ops_line = list_line(key_id_of(ops));
  EXPECT_EQ(ops_line.rfind(key_id_of(ops) + "\tops\tadmin\t", 0), 0u) << ops_line;
  EXPECT_EQ(ops_line.substr(ops_line.size() - 2), "\t-") << "not revoked";
  EXPECT_NE(list_line(key_id_of(checkout)).find("\tcheckout\treserve,admin\t"), std::string::npos);
  for (const std::string& key : {ops, checkout}) {
    const std::string secret = key.substr(20);
    EXPECT_EQ(listed.out.find(secret), std::string::npos) << "the key's secret is listed";
    EXPECT_EQ(listed.out.find(crypto::hex_encode(crypto::sha256(key))), std::string::npos);
    EXPECT_EQ(listed.out.find(crypto::base64_encode(crypto::sha256(key))), std::string::npos);
  }
}

TEST_F(ApiKeyCommandsTest, CreateWithoutANameNamesTheKeyByItsScopes) {
  const CommandResult created = ledgerctl({"api-key", "create", "--scopes", "reserve,admin"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string key = trimmed(created.out);
  EXPECT_EQ(events_status(key), 200);
  EXPECT_EQ(list_line(key_id_of(key)).rfind(key_id_of(key) + "\treserve,admin\treserve,admin\t", 0),
            0u)
      << list_line(key_id_of(key));
  EXPECT_EQ(ledgerctl({"api-key", "create"}).exit_code, 2) << "no scopes";
}

TEST_F(ApiKeyCommandsTest, RevokedKeyIsRefusedFromTheNextRequestOn) {
  const std::string ops = create("ops", "admin");
  const std::string other = create("other", "admin");
  // Warm every worker and connection with positive lookups first.
  for (int i = 0; i < 40; ++i) ASSERT_EQ(events_status(ops), 200);

  const CommandResult revoked = ledgerctl({"api-key", "revoke", ops});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(revoked.out.rfind("revoked " + key_id_of(ops) + " at ", 0), 0u) << revoked.out;
  for (int i = 0; i < 20; ++i) {
    const TestResponse refused = http_get(url("/api/v1/admin/accounts/alice/events"), bearer(ops));
    ASSERT_EQ(refused.status, 401) << "request " << i << " after revocation: " << refused.body;
    EXPECT_EQ(refused.body, R"({"error":"unauthorized"})");
  }
  EXPECT_EQ(events_status(other), 200) << "only that key";

  // Idempotent, by key text or id; the list shows when.
  const CommandResult again = ledgerctl({"api-key", "revoke", key_id_of(ops)});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.rfind(key_id_of(ops) + " was already revoked at ", 0), 0u) << again.out;
  const std::string line = list_line(key_id_of(ops));
  const std::string revoked_at = line.substr(line.rfind('\t') + 1);
  EXPECT_EQ(revoked_at.substr(0, 2), "20") << line;
  EXPECT_EQ(revoked_at.back(), 'Z') << line;

  // By id, in either case.
  std::string upper_id = key_id_of(other);
  std::transform(upper_id.begin(), upper_id.end(), upper_id.begin(), ::toupper);
  ASSERT_EQ(ledgerctl({"api-key", "revoke", upper_id}).exit_code, 0);
  EXPECT_EQ(events_status(other), 401);
}

TEST_F(ApiKeyCommandsTest, RevokeRefusesWhatNamesNoKey) {
  const std::string ops = create("ops", "admin");
  // The right id with another secret is not this key: nothing is revoked.
  const std::string wrong_secret = ops.substr(0, 20) + std::string(43, 'A');
  for (const std::string& name : {wrong_secret, std::string("00112233445566ff"),
                                  std::string("not-a-key"), std::string("0011223344")}) {
    const CommandResult refused = ledgerctl({"api-key", "revoke", name});
    EXPECT_EQ(refused.exit_code, 2) << name;
    EXPECT_NE(refused.err.find("no API key matches"), std::string::npos) << refused.err;
  }
  EXPECT_EQ(events_status(ops), 200);
  EXPECT_EQ(ledgerctl({"api-key", "revoke"}).exit_code, 2);
  EXPECT_EQ(ledgerctl({"api-key", "rotate"}).exit_code, 2);
}

TEST(LedgerctlHelpTest, EveryCommandAnswersHelp) {
  const CommandResult overview = run_ledgerctl({"--help"}, "");
  EXPECT_EQ(overview.exit_code, 0) << overview.err;
  for (const char* command : {"migrate", "verify", "replay", "reconcile", "balance", "history",
                              "export", "api-key", "prune", "token"}) {
    EXPECT_NE(overview.out.find(std::string("ledgerctl ") + command), std::string::npos) << command;
    // No database is needed to ask.
    const CommandResult help = run_ledgerctl({command, "--help"}, "");
    EXPECT_EQ(help.exit_code, 0) << command << ": " << help.err;
    EXPECT_EQ(help.out.rfind(std::string("usage: ledgerctl [--database-url URL] ") + command, 0),
              0u)
        << help.out;
    EXPECT_EQ(run_ledgerctl({command, "-h"}, "").out, help.out) << command;
  }
  EXPECT_NE(run_ledgerctl({"api-key", "--help"}, "").out.find("api-key revoke KEY_OR_ID"),
            std::string::npos);
  EXPECT_NE(run_ledgerctl({"prune", "--help"}, "").out.find("--dry-run"), std::string::npos);
  const CommandResult unknown = run_ledgerctl({"frobnicate"}, "");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("usage: ledgerctl"), std::string::npos);
  EXPECT_EQ(run_ledgerctl({}, "").exit_code, 2);
}

TEST(LedgerctlTokenTest, RefusesASecretShorterThanLedgerdAccepts) {
  const CommandResult short_secret =
      run_ledgerctl({"token", "--sub", "alice"}, "", {{"LEDGER_JWT_SECRET", std::string(31, 's')}});
  EXPECT_EQ(short_secret.exit_code, 2);
  EXPECT_NE(short_secret.err.find("at least 32 bytes"), std::string::npos) << short_secret.err;
  const CommandResult minted =
      run_ledgerctl({"token", "--sub", "alice"}, "", {{"LEDGER_JWT_SECRET", std::string(32, 's')}});
  EXPECT_EQ(minted.exit_code, 0) << minted.err;
  EXPECT_EQ(std::count(minted.out.begin(), minted.out.end(), '.'), 2);
}

TEST(LedgerctlTokenTest, TakesTheAccountAsArgumentOrSub) {
  const std::map<std::string, std::string> env = {{"LEDGER_JWT_SECRET", std::string(32, 's')}};
  const CommandResult by_argument = run_ledgerctl({"token", "alice"}, "", env);
  ASSERT_EQ(by_argument.exit_code, 0) << by_argument.err;
  const std::string payload = by_argument.out.substr(
      by_argument.out.find('.') + 1, by_argument.out.rfind('.') - by_argument.out.find('.') - 1);
  const std::optional<std::string> claims = crypto::base64url_decode(payload);
  ASSERT_TRUE(claims.has_value());
  EXPECT_NE(claims->find(R"("sub":"alice")"), std::string::npos) << *claims;
  EXPECT_EQ(run_ledgerctl({"token"}, "", env).exit_code, 2) << "no account";
  EXPECT_EQ(run_ledgerctl({"token", "alice", "--sub", "bob"}, "", env).exit_code, 2);
  EXPECT_EQ(run_ledgerctl({"token", "alice", "bob"}, "", env).exit_code, 2);
  EXPECT_EQ(run_ledgerctl({"token", "bad id"}, "", env).exit_code, 2);
}

}  // namespace
}  // namespace http_tests
