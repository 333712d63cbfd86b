// ContentHttpTest: the fake backends, the test configuration files, ledgerd, helpers.
#include "tests/content_http/content_fixture.h"

#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/verify.h"
#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "crypto/digest.h"
#include "tests/integrations/detector_fakes.h"

namespace content_http_tests {
namespace {

const char* const kSecret = "content-test-secret-0123456789abcdef";

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// Maps a request path to the key its handler is registered under.
std::string handler_key(const std::string& path) {
  const std::string prefix = "/v2/writer-detector/";
  if (path.rfind(prefix, 0) == 0 && path.size() > prefix.size() + 6 &&
      path.compare(path.size() - 6, 6, "/check") == 0) {
    return kCopyleaksCheckPath;
  }
  return path;
}

FakeResponse json_answer(const std::string& body) { return FakeResponse::json(200, body); }

}  // namespace

FakeBackends::FakeBackends() {
  reset();
  server_ = std::make_unique<testing_support::FakeHttpServer>(
      [this](const RecordedRequest& request) { return dispatch(request); });
}

void FakeBackends::on(const std::string& path, testing_support::FakeHandler handler) {
  std::lock_guard<std::mutex> lock(mutex_);
  handlers_[path] = std::move(handler);
}

FakeResponse FakeBackends::dispatch(const RecordedRequest& request) {
  testing_support::FakeHandler handler;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = handlers_.find(handler_key(request.path));
    if (it == handlers_.end()) return FakeResponse::json(404, R"({"error":"no such fake"})");
    handler = it->second;
  }
  return handler(request);
}

void FakeBackends::reset() {
  namespace fakes = integrations_testing;
  std::lock_guard<std::mutex> lock(mutex_);
  handlers_.clear();
  handlers_[kHumanizerPath] = [](const RecordedRequest& request) {
    rapidjson::Document answer(rapidjson::kObjectType);
    const std::string text = "[h] " + request_text(request);
    answer.AddMember("text", rapidjson::Value(text.c_str(), answer.GetAllocator()),
                     answer.GetAllocator());
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    answer.Accept(writer);
    return json_answer(buffer.GetString());
  };
  handlers_[kInternalPath] = [](const RecordedRequest&) {
    return json_answer(R"({"score": 18.2})");
  };
  // The seed's example scores: overall 22.2 with the internal 18.2, likely_human.
  handlers_[kGptzeroPath] = [](const RecordedRequest&) { return fakes::gptzero_answer(0.25); };
  handlers_[kZerogptPath] = [](const RecordedRequest&) { return fakes::zerogpt_answer(30.0); };
  handlers_[kSaplingPath] = [](const RecordedRequest&) { return fakes::sapling_answer(0.15); };
  handlers_[kCopyleaksLoginPath] = [](const RecordedRequest&) {
    return fakes::copyleaks_login_answer("copyleaks-token");
  };
  handlers_[kCopyleaksCheckPath] = [](const RecordedRequest&) {
    return fakes::copyleaks_answer(0.20);
  };
  handlers_[kWriterPath] = [](const RecordedRequest&) {
    return fakes::writer_answer("fake", 0.22);
  };
  handlers_[kOriginalityPath] = [](const RecordedRequest&) {
    return fakes::originality_answer(0.19);
  };
  handlers_[kTurnitinPath] = [](const RecordedRequest&) {
    return json_answer(R"({"ai_score": 28})");
  };
  handlers_[kCrossplagPath] = [](const RecordedRequest&) {
    return json_answer(R"({"result": {"ai_probability": 0.24}})");
  };
  handlers_[kContentAtScalePath] = [](const RecordedRequest&) {
    return json_answer(R"({"human_probability": 79})");  // inverted: 21 AI
  };
}

std::vector<RecordedRequest> FakeBackends::requests_to(const std::string& path) const {
  std::vector<RecordedRequest> matching;
  for (RecordedRequest& request : server_->requests()) {
    if (handler_key(request.path) == path) matching.push_back(std::move(request));
  }
  return matching;
}

std::string test_plans_json() {
  return R"({"plans": [
  {"id": "free", "monthly_credits": 300,
   "pricing": {"humanize": {"base_words": 100, "base_credits": 30},
               "detect": {"base_words": 100, "base_credits": 10}}},
  {"id": "pro", "monthly_credits": 10000,
   "pricing": {"humanize": {"base_words": 100, "base_credits": 20},
               "detect": {"base_words": 100, "base_credits": 5}},
   "stripe_prices": {"monthly": "price_pro_monthly", "yearly": "price_pro_yearly"},
   "currencies": ["usd"]}
]})";
}

std::string test_detectors_json(const std::string& base) {
  const auto provider = [&base](const std::string& name, const std::string& extra = "") {
    return R"({"name": ")" + name + R"(", "kind": ")" + name + R"(", "base_url": ")" + base +
           R"(", "api_key": "key-)" + name + R"(", "timeout_ms": 5000)" + extra + "}";
  };
  const auto generic = [&base](const std::string& name, const std::string& pointer, int scale,
                               bool invert) {
    return R"({"name": ")" + name + R"(", "kind": "generic", "url": ")" + base + "/" + name +
           R"(", "auth_header": "Authorization", "auth_value": "Bearer t-)" + name +
           R"(", "score_pointer": ")" + pointer + R"(", "scale": )" + std::to_string(scale) +
           R"(, "invert": )" + (invert ? "true" : "false") + R"(, "timeout_ms": 5000})";
  };
  std::ostringstream json;
  json << R"({"overall_timeout_ms": )" << kOverallTimeoutMs
       << R"(, "verdict": {"likely_human_below": 35, "likely_ai_from": 65}, "detectors": [)"
       << provider("gptzero") << "," << provider("zerogpt") << ","
       << R"({"name": "sapling", "kind": "sapling", "base_url": ")" << base
       << R"(", "api_key": "key-sapling", "timeout_ms": )" << kSaplingTimeoutMs << "},"
       << provider("copyleaks", R"(, "email": "ops@example.com", "login_url": ")" + base +
                                    kCopyleaksLoginPath + R"(")")
       << "," << provider("writer") << "," << provider("originality") << ","
       << generic("turnitin", "/ai_score", 100, false) << ","
       << generic("crossplag", "/result/ai_probability", 1, false) << ","
       << generic("contentatscale", "/human_probability", 100, true) << "]}";
  return json.str();
}

TempDir::TempDir() {
  char pattern[] = "/tmp/content-http-XXXXXX";
  const char* dir = mkdtemp(pattern);
  if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
  path = dir;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

ContentEnvironment::ContentEnvironment(std::vector<std::string> flags,
                                       const std::string& detectors_file) {
  testing_support::LedgerdOptions options;
  options.database_url = database.url();
  options.jwt_secret = kSecret;
  options.plans_path = temp_dir.path + "/plans.json";
  write_file(options.plans_path, test_plans_json());
  std::string detectors_path = detectors_file;
  if (detectors_file.empty() || detectors_file[0] == '{') {  // Inline JSON: write it.
    detectors_path = temp_dir.path + "/detectors.json";
    write_file(detectors_path, detectors_file.empty() ? "{}" : detectors_file);
  }
  flags.push_back("--detectors=" + detectors_path);
  options.extra_flags = std::move(flags);
  ledgerd = std::make_unique<testing_support::LedgerdProcess>(options);
}

std::unique_ptr<FakeBackends> ContentHttpTest::backends_;
std::unique_ptr<ContentEnvironment> ContentHttpTest::environment_;
std::string ContentHttpTest::admin_key_;

void ContentHttpTest::SetUpTestSuite() {
  // Concurrency tests send 20 requests of one account at once: no per-account cap here.
  start_environment({"--workers=24", "--outbound_workers=24", "--content_concurrency_per_account=0"});
}

void ContentHttpTest::start_environment(const std::vector<std::string>& extra_flags) {
  backends_ = std::make_unique<FakeBackends>();
  const std::string base = backends_->url();
  std::vector<std::string> flags = {"--rate_limit_per_s=0", "--log_level=warn",
                                    "--humanizer_url=" + base + kHumanizerPath,
                                    "--internal_detector_url=" + base + kInternalPath,
                                    "--humanizer_parallelism=4"};
  flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
  environment_ = std::make_unique<ContentEnvironment>(std::move(flags), test_detectors_json(base));
  admin_key_ =
      auth::create_api_key(*environment_->database.connect_pg(), "content-tests-admin", {"admin"});
}

void ContentHttpTest::TearDownTestSuite() {
  environment_.reset();
  backends_.reset();
}

void ContentHttpTest::SetUp() {
  if (backends_) {
    backends_->reset();
    backends_->clear_requests();
  }
}

void ContentHttpTest::TearDown() {
  if (HasFailure() && environment_) {
    std::fprintf(stderr, "---- ledgerd log ----\n%s\n", environment_->ledgerd->log_text().c_str());
  }
}

std::string ContentHttpTest::url(const std::string& path) {
  return environment_->ledgerd->base_url() + path;
}

std::string ContentHttpTest::token(const std::string& account) {
  return auth::issue_dev_token(kSecret, account, 3600);
}

std::string ContentHttpTest::new_account() { return "user-" + crypto::uuid_v4(); }

TestHeaders ContentHttpTest::bearer(const std::string& account) {
  return {{"Authorization", "Bearer " + token(account)}};
}

TestResponse ContentHttpTest::humanize(const std::string& account, const std::string& body,
                                       TestHeaders extra_headers) {
  TestHeaders headers = bearer(account);
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  return testing_support::http_post(url("/api/v1/humanize"), headers, body, 30'000);
}

TestResponse ContentHttpTest::detect(const std::string& account, const std::string& body,
                                     TestHeaders extra_headers) {
  TestHeaders headers = bearer(account);
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  return testing_support::http_post(url("/api/v1/detect"), headers, body, 30'000);
}

std::string ContentHttpTest::text_body(const std::string& text, const std::string& extra_fields) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(R"({"text":)") + buffer.GetString() + extra_fields + "}";
}

void ContentHttpTest::grant(const std::string& account, int64_t amount) {
  const TestResponse response = testing_support::http_post(
      url("/api/v1/admin/accounts/" + account + "/grants"),
      {{"Authorization", "Bearer " + admin_key_}, {"Idempotency-Key", crypto::uuid_v4()}},
      R"({"amount":)" + std::to_string(amount) + R"(,"reason":"content test"})");
  ASSERT_EQ(response.status, 200) << response.body;
}

std::optional<projections::balances::BalanceView> ContentHttpTest::balance(
    const std::string& account) {
  return projections::balances::read(*environment_->database.connect_pg(), account);
}

int64_t ContentHttpTest::open_reservations(const std::string& account) {
  const auto state =
      ledger::fold_stream(*environment_->database.connect_pg(), account, INT64_MAX);
  int64_t open = 0;
  if (!state) return open;
  for (const auto& [id, reservation] : state->reservations) {
    if (reservation.status == ledger::ReservationStatus::kOpen) ++open;
  }
  return open;
}

int64_t ContentHttpTest::event_count(const std::string& account) {
  auto connection = environment_->database.connect();
  pqxx::work work(*connection);
  return work.exec_params1("SELECT count(*) FROM ledger_events WHERE stream_id = $1", account)[0]
      .as<int64_t>();
}

void ContentHttpTest::expect_ledger_verified() {
  const audit::VerifyReport report = audit::verify_ledger(*environment_->database.connect_pg());
  EXPECT_TRUE(report.clean) << report.problem << " (stream " << report.stream_id << " version "
                            << report.stream_version << ")";
  EXPECT_GT(report.events_checked, 0);
}

std::string prose(int count) {
  std::string text;
  for (int word = 0; word < count; ++word) {
    const int position = word % 10;
    if (word > 0) text += ' ';
    if (position == 0) {
      text += "Sentence" + std::to_string(word / 10 + 1);
      continue;
    }
    static const char* const kRest[] = {"has", "exactly", "ten", "words", "in",
                                        "it",  "for",     "the", "test."};
    text += kRest[position - 1];
  }
  if (!text.empty() && text.back() != '.') text += '.';
  return text;
}

int64_t word_count_of(const std::string& text) {
  std::istringstream words(text);
  int64_t count = 0;
  for (std::string word; words >> word;) ++count;
  return count;
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document document;
  document.Parse(json.c_str(), json.size());
  EXPECT_FALSE(document.HasParseError()) << "not JSON: " << json;
  return document;
}

std::string error_code(const TestResponse& response) {
  return json_string(response.body, "/error");
}

std::string json_string(const std::string& json, const char* pointer) {
  return integrations_testing::json_string_at(json, pointer);
}

std::string request_text(const RecordedRequest& request) {
  return json_string(request.body, "/text");
}

}  // namespace content_http_tests
