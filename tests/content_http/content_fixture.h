// End-to-end fixture for POST /api/v1/humanize and /api/v1/detect: one real ledgerd per
// test suite (over loopback, on a fresh PostgreSQL database) whose humanizer model,
// internal detector and nine external detectors are all one FakeHttpServer speaking each
// provider's wire format. Each test uses its own account (a fresh JWT subject), so tests
// of one suite share the process without sharing state.
#pragma once

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ledger/store.h"
#include "projections/balances.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/http_test_client.h"
#include "tests/support/ledgerd_process.h"
#include "tests/support/test_database.h"

namespace content_http_tests {

using testing_support::FakeResponse;
using testing_support::RecordedRequest;
using testing_support::TestHeaders;
using testing_support::TestResponse;

// Paths the fake backends answer (the providers' real paths; the generic detectors and our
// own services get one path each).
inline constexpr const char* kHumanizerPath = "/humanize";
inline constexpr const char* kInternalPath = "/internal";
inline constexpr const char* kGptzeroPath = "/v2/predict/text";
inline constexpr const char* kZerogptPath = "/api/detect/detectText";
inline constexpr const char* kSaplingPath = "/api/v1/aidetect";
inline constexpr const char* kCopyleaksLoginPath = "/v3/account/login/api";
inline constexpr const char* kCopyleaksCheckPath = "/v2/writer-detector/*/check";  // any scanId
inline constexpr const char* kWriterPath = "/v1/tools/ai-detect";
inline constexpr const char* kOriginalityPath = "/api/v1/scan/ai";
inline constexpr const char* kTurnitinPath = "/turnitin";
inline constexpr const char* kCrossplagPath = "/crossplag";
inline constexpr const char* kContentAtScalePath = "/contentatscale";

// The nine external detectors of the test configuration, in configuration order.
inline const std::vector<std::string> kDetectorNames = {"gptzero",   "zerogpt",   "sapling",
                                                        "copyleaks", "writer",    "originality",
                                                        "turnitin",  "crossplag", "contentatscale"};

// Test plan prices: free = 300 credits; humanize 30 credits per chunk of <= 100 words
// (proportional above); detect 10 credits per <= 100 words.
inline constexpr int64_t kFreeCredits = 300;
inline constexpr int64_t kHumanizeBaseCredits = 30;
inline constexpr int64_t kDetectBaseCredits = 10;
// Detector deadlines of the test configuration.
inline constexpr int64_t kOverallTimeoutMs = 1'500;
inline constexpr int64_t kSaplingTimeoutMs = 800;  // Every other detector: 5000.

// One FakeHttpServer standing in for every outside service; handlers per path.
class FakeBackends {
 public:
  FakeBackends();
  std::string url() const { return server_->url(); }
  // Replaces the handler of `path` (one of the k*Path constants).
  void on(const std::string& path, testing_support::FakeHandler handler);
  // Humanizer: "[h] " + text; internal: 18.2; detectors: the seed example's scores.
  void reset();
  std::vector<RecordedRequest> requests_to(const std::string& path) const;
  void clear_requests() { server_->clear_requests(); }
  std::size_t request_count() const { return server_->request_count(); }

 private:
  FakeResponse dispatch(const RecordedRequest& request);

  mutable std::mutex mutex_;
  std::map<std::string, testing_support::FakeHandler> handlers_;
  std::unique_ptr<testing_support::FakeHttpServer> server_;
};

// The test plans and detectors files, written to a temporary directory.
std::string test_plans_json();
std::string test_detectors_json(const std::string& backends_url);

// A directory under /tmp removed with everything in it, also when a constructor that owns
// it throws.
struct TempDir {
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path;
};

// A fresh database and a ledgerd on it with the test plans and `detectors_file` (a path,
// or inline JSON written to a file). Throws when ledgerd does not start.
class ContentEnvironment {
 public:
  ContentEnvironment(std::vector<std::string> flags, const std::string& detectors_file);

  TempDir temp_dir;
  testing_support::TestDatabase database;
  std::unique_ptr<testing_support::LedgerdProcess> ledgerd;
};

class ContentHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  static std::string url(const std::string& path);
  static std::string token(const std::string& account);
  static std::string new_account();
  static TestHeaders bearer(const std::string& account);

  // POST /api/v1/humanize (or /detect) as `account` with `body`.
  static TestResponse humanize(const std::string& account, const std::string& body,
                               TestHeaders extra_headers = {});
  static TestResponse detect(const std::string& account, const std::string& body,
                             TestHeaders extra_headers = {});
  // {"text": text, ...extra}
  static std::string text_body(const std::string& text, const std::string& extra_fields = "");
  static void grant(const std::string& account, int64_t amount);

  static std::optional<projections::balances::BalanceView> balance(const std::string& account);
  // Reservations of the account still open, from a fold of its events.
  static int64_t open_reservations(const std::string& account);
  static int64_t event_count(const std::string& account);
  // audit::verify_ledger over the whole database: hash chains, projections == fold.
  static void expect_ledger_verified();

  static std::unique_ptr<FakeBackends> backends_;
  static std::unique_ptr<ContentEnvironment> environment_;
  static std::string admin_key_;
};

// `count` words in sentences of ten: "Sentence1 has exactly ten words in it for the test."
// The last sentence may be shorter.
std::string prose(int count);
// Words of a string (whitespace-separated runs; ASCII test texts only).
int64_t word_count_of(const std::string& text);

rapidjson::Document parse(const std::string& json);
std::string error_code(const TestResponse& response);
std::string json_string(const std::string& json, const char* pointer);
// The JSON string field "text" of a recorded request body.
std::string request_text(const RecordedRequest& request);

}  // namespace content_http_tests
