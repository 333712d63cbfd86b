// The audit console (/admin/) in a real browser: Debian's headless Chromium driven through
// chromedriver's WebDriver API against a real ledgerd that writes digests. The test types the
// admin key and the account as an operator would, and checks what the page shows: the balance
// now and at an earlier instant, the chart, the events with their hashes, a clean stream, the
// latest digest, no key left in storage, and a stream that no longer verifies after the
// projection is edited behind the ledger. It keeps a screenshot as an artifact
// (LEDGER_BUILD_DIR/test-artifacts/audit-console.png).
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "crypto/digest.h"
#include "ledger/time_format.h"
#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

constexpr const char* kDigestKey = "console-test-digest-key-0123456789abcdef";
constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";

// chromedriver on a free loopback port, killed at the end.
class ChromeDriver {
 public:
  ChromeDriver() : port_(testing_support::free_loopback_port()) {
    const std::string port_flag = "--port=" + std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      const char* argv[] = {"/usr/bin/chromedriver", port_flag.c_str(), "--silent", nullptr};
      ::execv(argv[0], const_cast<char* const*>(argv));
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      const TestResponse status = testing_support::http_get(url("/status"), {}, 1'000);
      if (status.status == 200 && status.body.find("\"ready\":true") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("chromedriver did not become ready (is chromium-driver installed?)");
  }
  ~ChromeDriver() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
};

// One WebDriver session of headless Chromium.
class Browser {
 public:
  explicit Browser(const ChromeDriver& driver) : driver_(driver) {
    const TestResponse created =
        call("POST", "/session",
             R"({"capabilities":{"alwaysMatch":{"browserName":"chrome","goog:chromeOptions":{)"
             R"("binary":"/usr/bin/chromium","args":["--headless=new","--no-sandbox",)"
             R"("--disable-gpu","--disable-dev-shm-usage","--window-size=1280,1700"]}}}})");
    const rapidjson::Document reply = parse_json(created.body);
    if (created.status != 200 || !reply["value"].HasMember("sessionId")) {
      throw std::runtime_error("no browser session: " + created.body);
    }
    session_ = "/session/" + std::string(reply["value"]["sessionId"].GetString());
  }
  ~Browser() { call("DELETE", session_, ""); }

  void open(const std::string& url) {
    ASSERT_EQ(call("POST", session_ + "/url", R"({"url":")" + url + R"("})").status, 200);
  }
  std::string element(const std::string& css) {
    const TestResponse found =
        call("POST", session_ + "/element", R"({"using":"css selector","value":")" + css + R"("})");
    const rapidjson::Document reply = parse_json(found.body);
    if (found.status != 200) throw std::runtime_error("no element " + css + ": " + found.body);
    return reply["value"][kElementKey].GetString();
  }
  void type(const std::string& css, const std::string& text) {
    ASSERT_EQ(call("POST", session_ + "/element/" + element(css) + "/value",
                   R"({"text":")" + text + R"("})")
                  .status,
              200);
  }
  void click(const std::string& css) {
    ASSERT_EQ(call("POST", session_ + "/element/" + element(css) + "/click", "{}").status, 200);
  }
  std::string text(const std::string& css) {
    const TestResponse answer = call("GET", session_ + "/element/" + element(css) + "/text", "");
    return parse_json(answer.body)["value"].GetString();
  }
  // Runs `script` in the page; its return value as JSON text.
  std::string run(const std::string& script) {
    const TestResponse answer =
        call("POST", session_ + "/execute/sync", R"({"script":")" + script + R"(","args":[]})");
    const rapidjson::Document reply = parse_json(answer.body);
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    reply["value"].Accept(writer);
    return buffer.GetString();
  }
  // Waits until the text of `css` starts with `prefix`; the text at the end.
  std::string wait_for_text(const std::string& css, const std::string& prefix) {
    std::string current;
    for (int i = 0; i < 200; ++i) {
      current = text(css);
      if (current.rfind(prefix, 0) == 0) return current;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return current;
  }
  std::string screenshot_png() {
    const TestResponse answer = call("GET", session_ + "/screenshot", "");
    const auto png = crypto::base64_decode(parse_json(answer.body)["value"].GetString());
    return png.value_or("");
  }

 private:
  TestResponse call(const std::string& method, const std::string& path, const std::string& body) {
    return testing_support::http_request(method, driver_.url(path),
                                         {{"Content-Type", "application/json"}}, body, 30'000);
  }

  const ChromeDriver& driver_;
  std::string session_;
};

class ConsoleTest : public LedgerdTest {
 protected:
  void SetUp() override {
    LedgerdTest::SetUp();
    digest_dir_ =
        std::filesystem::temp_directory_path() / ("console-digests-" + std::to_string(::getpid()));
    std::filesystem::create_directories(digest_dir_);
    testing_support::LedgerdOptions options;
    options.database_url = database_->url();
    options.jwt_secret = "console-test-jwt-secret-0123456789";
    options.extra_flags = {"--digest_dir=" + digest_dir_.string(), "--digest_interval_s=1",
                           "--rate_limit_per_s=0"};
    options.env = {{"LEDGER_DIGEST_KEY", kDigestKey}};
    console_ledgerd_ = std::make_unique<testing_support::LedgerdProcess>(options);
  }
  void TearDown() override {
    console_ledgerd_.reset();
    std::filesystem::remove_all(digest_dir_);
    LedgerdTest::TearDown();
  }
  std::string console_url(const std::string& path) const {
    return console_ledgerd_->base_url() + path;
  }

  std::filesystem::path digest_dir_;
  std::unique_ptr<testing_support::LedgerdProcess> console_ledgerd_;
};

TEST_F(ConsoleTest, TheConsoleShowsAnAccountsBalanceChartEventsVerificationAndDigest) {
  // The page and its files, with a policy that runs only its own script.
  const TestResponse page = testing_support::http_get(console_url("/admin/"), {});
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.header("content-type").find("text/html"), std::string::npos);
  EXPECT_NE(page.header("content-security-policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(testing_support::http_get(console_url("/admin/console.js"), {}).status, 200);
  EXPECT_EQ(testing_support::http_get(console_url("/admin/missing.js"), {}).status, 404);
  EXPECT_EQ(testing_support::http_get(console_url("/admin"), {}).status, 308);

  // An account with a past: opened, then (a second later) a grant and a spend.
  const std::string admin = create_key("auditor", {"admin"});
  const std::string user = token("auditee");
  ASSERT_EQ(testing_support::http_get(url("/api/v1/credits"), bearer(user)).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1'100));
  const int64_t between_us = ledger::unix_now_us();
  std::this_thread::sleep_for(std::chrono::milliseconds(1'100));
  ASSERT_EQ(grant(admin, "auditee", 200).status, 200);
  const std::string id = string_field(parse_json(reserve(user, 120).body), "reservation_id");
  ASSERT_EQ(capture(user, id, 100).status, 200);
  // A digest covering it.
  for (int i = 0; i < 100 && std::filesystem::is_empty(digest_dir_); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));
  const auto stored = stored_events("auditee");
  ASSERT_EQ(stored.size(), 5u);  // opened, allowance, grant, reserve, capture

  ChromeDriver driver;
  Browser browser(driver);
  browser.open(console_url("/admin/"));
  browser.type("#api-key", admin);
  browser.type("#account", "auditee");
  // The instant between the opening and the grant (seconds of UTC, datetime-local's format).
  const std::string instant = ledger::format_rfc3339(between_us).substr(0, 19);
  browser.run("document.getElementById('as-of').value = '" + instant + "'; return true;");
  browser.click("#look-up");
  const std::string status = browser.wait_for_text("#status", "Account auditee");
  ASSERT_EQ(status.rfind("Account auditee", 0), 0u) << status;

  EXPECT_EQ(browser.text("#balance-now").rfind("400 available, 0 reserved", 0), 0u)
      << browser.text("#balance-now");
  EXPECT_EQ(browser.text("#balance-as-of").rfind("300 available, 0 reserved", 0), 0u)
      << browser.text("#balance-as-of");
  EXPECT_EQ(browser.run("return document.getElementById('chart').dataset.points;"), "\"4\"")
      << "allowance, grant, reserve, capture";
  EXPECT_EQ(browser.run("return document.getElementById('chart').dataset.last;"), "\"400\"");
  EXPECT_EQ(browser.run("return document.querySelectorAll('#events tbody tr').length;"), "5");
  EXPECT_EQ(browser.run("return document.querySelector('#events tbody tr td:nth-child(3)')"
                        ".textContent;"),
            "\"AccountOpened\"");
  const std::string first_hash = crypto::hex_encode(stored[0].hash);
  EXPECT_EQ(browser.run("return document.querySelector('#events tbody tr td.hash').title;"),
            "\"" + first_hash + "\"");
  EXPECT_EQ(browser.text("#verify-result").rfind("clean: 5 events", 0), 0u)
      << browser.text("#verify-result");
  EXPECT_EQ(browser.text("#digest").rfind("position ", 0), 0u) << browser.text("#digest");
  EXPECT_NE(browser.text("#digest").find("hmac-sha256"), std::string::npos);
  EXPECT_EQ(browser.run("return [localStorage.length, sessionStorage.length, document.cookie];"),
            "[0,0,\"\"]")
      << "the key is kept in memory only";

  const std::string png = browser.screenshot_png();
  ASSERT_GT(png.size(), 1'000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const std::filesystem::path artifacts =
      std::filesystem::path(testing_support::build_path("test-artifacts"));
  std::filesystem::create_directories(artifacts);
  std::ofstream(artifacts / "audit-console.png", std::ios::binary) << png;

  // A projection edited behind the ledger: the stream no longer verifies.
  {
    auto connection = database_->connect();
    pqxx::work work(*connection);
    work.exec0(
        "UPDATE ledger_accounts SET credits_available = credits_available + 1,"
        " credits_granted = credits_granted + 1 WHERE account_id = 'auditee'");
    work.commit();
  }
  browser.click("#look-up");
  const std::string verify = browser.wait_for_text("#verify-result", "NOT clean");
  EXPECT_EQ(verify.rfind("NOT clean", 0), 0u) << verify;

  // A wrong key is refused on the page.
  browser.run("document.getElementById('api-key').value = ''; return true;");
  browser.type("#api-key", "lk_wrong");
  browser.click("#look-up");
  EXPECT_NE(browser.wait_for_text("#status", "The key was refused").find("refused"),
            std::string::npos);
}

// The console's page and its admin reads refuse what they cannot serve, as JSON errors.
TEST_F(ConsoleTest, TheConsolesRoutesRefuseBadInput) {
  const TestResponse post = testing_support::http_post(console_url("/admin/"), {}, "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("allow"), "GET");
  EXPECT_EQ(testing_support::http_get(console_url("/admin/console.js/x"), {}).status, 404);
  EXPECT_EQ(error_code(testing_support::http_get(console_url("/admin/%2e%2e/metrics"), {})),
            "not_found");

  const std::string admin = create_key("auditor", {"admin"});
  const std::string service = create_key("checkout", {"reserve"});
  const std::string digest = "/api/v1/admin/digests/latest";
  EXPECT_EQ(testing_support::http_get(url(digest), {}).status, 401);
  EXPECT_EQ(testing_support::http_get(url(digest), bearer(token("alice"))).status, 403);
  EXPECT_EQ(testing_support::http_get(url(digest), bearer(service)).status, 403);
  const TestResponse none = testing_support::http_get(url(digest), bearer(admin));
  EXPECT_EQ(none.status, 404) << "this ledgerd has no --digest_dir";
  EXPECT_EQ(error_code(none), "no_digest");

  for (const std::string read : {"/verify", "/history"}) {
    const TestResponse unknown =
        testing_support::http_get(url("/api/v1/admin/accounts/nobody" + read), bearer(admin));
    EXPECT_EQ(unknown.status, 404) << read;
    EXPECT_EQ(error_code(unknown), "account_not_found") << read;
    EXPECT_EQ(testing_support::http_get(url("/api/v1/admin/accounts/a%20b" + read), bearer(admin))
                  .status,
              400)
        << read;
    EXPECT_EQ(testing_support::http_get(url("/api/v1/admin/accounts/nobody" + read),
                                        bearer(service))
                  .status,
              403)
        << read;
  }
  EXPECT_EQ(testing_support::http_get(url("/api/v1/admin/accounts/nobody/history?limit=0"),
                                      bearer(admin))
                .status,
            400);
}

}  // namespace
}  // namespace http_tests
