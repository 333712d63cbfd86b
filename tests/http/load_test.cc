// Concurrency over HTTP: 64 clients reserving and capturing on one account (no overdraft,
// final balance equals the fold), idempotent replays (identical status and body, one
// event), and SIGTERM under load (every acknowledged reservation is in the event log).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>

#include "tests/http/ledgerd_fixture.h"

namespace http_tests {
namespace {

using testing_support::http_get;
using testing_support::http_post;

class HttpLoadTest : public LedgerdTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    return {"--rate_limit_per_s=0", "--workers=32", "--log_level=warn"};
  }
};

struct ClientTally {
  int64_t captured_credits = 0;
  int64_t reservations = 0;
  int64_t insufficient = 0;
  int64_t unexpected = 0;
};

// One client: `rounds` of reserve(amount) then capture(part), recording what was acknowledged.
ClientTally run_client(const std::string& base_url, const std::string& jwt, int client,
                       int rounds) {
  ClientTally tally;
  const testing_support::TestHeaders auth = {{"Authorization", "Bearer " + jwt}};
  for (int round = 0; round < rounds; ++round) {
    const int64_t amount = 1 + (client * 7 + round * 13) % 20;
    auto headers = auth;
    headers.emplace_back("Idempotency-Key", fresh_key());
    const TestResponse reserved =
        http_post(base_url + "/api/v1/credits/reservations", headers,
                  R"({"amount":)" + std::to_string(amount) + R"(,"feature":"detect"})");
    if (reserved.status == 402) {
      ++tally.insufficient;
      continue;
    }
    if (reserved.status != 201) {
      ++tally.unexpected;
      continue;
    }
    ++tally.reservations;
    const std::string id = string_field(parse_json(reserved.body), "reservation_id");
    const int64_t used = amount / 2 + 1;
    headers.back().second = fresh_key();
    const TestResponse captured =
        http_post(base_url + "/api/v1/credits/reservations/" + id + "/capture", headers,
                  R"({"amount":)" + std::to_string(used) + "}");
    if (captured.status == 200 && int_field(parse_json(captured.body), "credits_used") == used) {
      tally.captured_credits += used;
    } else {
      ++tally.unexpected;
    }
  }
  return tally;
}

TEST_F(HttpLoadTest, SixtyFourClientsNeverOverdraw) {
  constexpr int kClients = 64;
  constexpr int kRounds = 25;
  constexpr int64_t kGranted = 3000;
  const std::string admin = create_key("ops", {"admin"});
  ASSERT_EQ(grant(admin, "shared", kGranted - 300).status, 200);
  const std::string jwt = token("shared");
  std::vector<ClientTally> tallies(kClients);
  std::vector<std::thread> clients;
  const auto started = std::chrono::steady_clock::now();
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back(
        [&, client] { tallies[client] = run_client(ledgerd_->base_url(), jwt, client, kRounds); });
  }
  for (auto& thread : clients) thread.join();
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ClientTally total;
  for (const auto& tally : tallies) {
    total.captured_credits += tally.captured_credits;
    total.reservations += tally.reservations;
    total.insufficient += tally.insufficient;
    total.unexpected += tally.unexpected;
  }
  const double requests = static_cast<double>(2 * total.reservations + total.insufficient);
  std::printf("64 clients: %lld reservations, %lld refused (402), %.0f requests/s\n",
              static_cast<long long>(total.reservations),
              static_cast<long long>(total.insufficient), requests / elapsed_s);
  EXPECT_EQ(total.unexpected, 0);
  EXPECT_GT(total.insufficient, 0)
      << "demand must exceed the credits for the test to mean anything";
  const auto row = balance_row("shared");
  const auto state = fold("shared");
  ASSERT_TRUE(row && state);
  EXPECT_GE(row->credits_available, 0);
  EXPECT_EQ(row->credits_reserved, 0);
  EXPECT_EQ(row->credits_spent, total.captured_credits);
  EXPECT_EQ(row->credits_available, kGranted - total.captured_credits);
  EXPECT_EQ(state->credits_available, row->credits_available);
  EXPECT_EQ(state->credits_spent, row->credits_spent);
  const auto credits = parse_json(http_get(url("/api/v1/credits"), bearer(jwt)).body);
  EXPECT_EQ(int_field(credits, "credits_available"), state->credits_available);
  expect_consistent("shared");
}

TEST_F(HttpLoadTest, IdempotentReplayIsByteForByte) {
  const std::string alice = token("alice");
  const auto headers = with_key(bearer(alice), "order-42");
  const std::string body = R"({"amount":25,"feature":"humanize"})";
  const TestResponse first = http_post(url("/api/v1/credits/reservations"), headers, body);
  ASSERT_EQ(first.status, 201) << first.body;
  const TestResponse replay = http_post(url("/api/v1/credits/reservations"), headers, body);
  EXPECT_EQ(replay.status, first.status);
  EXPECT_EQ(replay.body, first.body);
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  EXPECT_EQ(first.header("idempotent-replayed"), "");
  const TestResponse conflict = http_post(url("/api/v1/credits/reservations"), headers,
                                          R"({"amount":26,"feature":"humanize"})");
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.body, R"({"error":"idempotency_conflict"})");

  const std::string id = string_field(parse_json(first.body), "reservation_id");
  const auto capture_headers = with_key(bearer(alice), "order-42-capture");
  const std::string capture_url = url("/api/v1/credits/reservations/" + id + "/capture");
  const TestResponse captured = http_post(capture_url, capture_headers, R"({"amount":20})");
  ASSERT_EQ(captured.status, 200);
  const TestResponse captured_again = http_post(capture_url, capture_headers, R"({"amount":20})");
  EXPECT_EQ(captured_again.status, 200);
  EXPECT_EQ(captured_again.body, captured.body);
  // A replayed rejection is the same rejection.
  const auto broke = with_key(bearer(alice), "too-much");
  const TestResponse refused =
      http_post(url("/api/v1/credits/reservations"), broke, R"({"amount":9999,"feature":"x"})");
  EXPECT_EQ(refused.status, 402);
  EXPECT_EQ(
      http_post(url("/api/v1/credits/reservations"), broke, R"({"amount":9999,"feature":"x"})")
          .body,
      refused.body);

  // Sixteen concurrent deliveries of one request: one reservation, sixteen identical answers.
  const auto racing = with_key(bearer(alice), "racing");
  std::vector<TestResponse> answers(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      answers[i] =
          http_post(url("/api/v1/credits/reservations"), racing, R"({"amount":3,"feature":"x"})");
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.status, 201);
    EXPECT_EQ(answer.body, answers[0].body);
  }
  int reserved_events = 0;
  for (const auto& event : stored_events("alice"))
    reserved_events += event.event_type == "CreditsReserved";
  EXPECT_EQ(reserved_events, 2);  // order-42 and racing
  expect_consistent("alice");
}

TEST_F(HttpLoadTest, SigtermDuringLoadLosesNoAcknowledgedReservation) {
  const std::string admin = create_key("ops", {"admin"});
  ASSERT_EQ(grant(admin, "busy", 1'000'000).status, 200);
  const std::string jwt = token("busy");
  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::atomic<int> refused_while_draining{0};
  std::atomic<bool> signalled{false};
  std::vector<std::thread> clients;
  const std::string base_url = ledgerd_->base_url();
  for (int client = 0; client < 16; ++client) {
    clients.emplace_back([&] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < deadline) {
        const TestResponse response =
            http_post(base_url + "/api/v1/credits/reservations",
                      {{"Authorization", "Bearer " + jwt}, {"Idempotency-Key", fresh_key()}},
                      R"({"amount":1,"feature":"x"})", 5'000);
        if (response.status == 201) {
          std::lock_guard lock(mutex);
          acknowledged.insert(string_field(parse_json(response.body), "reservation_id"));
        } else if (response.status == 503) {
          ++refused_while_draining;
        } else if (response.status == 0 && signalled.load()) {
          return;  // the server is gone
        } else if (response.status != 0) {
          ADD_FAILURE() << "unexpected " << response.status << " " << response.body;
          return;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  signalled.store(true);
  ledgerd_->signal(SIGTERM);
  const int exit_code = ledgerd_->wait_for_exit(std::chrono::seconds(15));
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(exit_code, 0) << ledgerd_->log_text();
  ASSERT_GT(acknowledged.size(), 50u);
  std::set<std::string> logged;
  for (const auto& event : stored_events("busy")) {
    if (event.event_type != "CreditsReserved") continue;
    const auto payload = parse_json(event.payload);
    logged.insert(string_field(payload, "reservation_id"));
  }
  std::size_t missing = 0;
  for (const auto& id : acknowledged) missing += logged.count(id) == 0;
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged reservations";
  EXPECT_GE(logged.size(), acknowledged.size());
  expect_consistent("busy");
}

}  // namespace
}  // namespace http_tests
