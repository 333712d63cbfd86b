// For one subscription, all 120 orderings of {checkout.session.completed, invoice.paid
// (subscription_create), customer.subscription.updated (upgrade), invoice.paid (next cycle),
// customer.subscription.deleted} delivered over HTTP to one ledgerd end in the same final
// state and credits; the ledger then verifies and reconciles clean. Each ordering has its own
// account and subscription; orderings run on several client threads at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

#include "audit/reconcile.h"
#include "audit/verify.h"
#include "ledger/time_format.h"
#include "tests/billing/billing_fixture.h"
#include "tests/billing/stripe_payloads.h"

namespace billing_tests {
namespace {

constexpr int kClientThreads = 6;

struct FinalState {
  std::string credits_body;       // GET /api/v1/credits without the account id
  std::string subscription_body;  // GET /api/v1/billing/subscription without the ids
  bool operator==(const FinalState&) const = default;
};

std::string without(std::string text, const std::string& part) {
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at)) {
    text.erase(at, part.size());
  }
  return text;
}

class WebhookOrderingsTest : public BillingTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    std::vector<std::string> flags = BillingTest::ledgerd_flags();
    flags.push_back("--workers=" + std::to_string(kClientThreads + 2));
    return flags;
  }

  // Delivers one ordering and returns the account's final state as the API shows it.
  FinalState run_ordering(int index, const std::vector<int>& order, int64_t period0_s) const {
    const std::string tag = "ord" + std::to_string(index);
    const Subscriber who = subscriber(tag);
    const Shape shape = index % 2 == 0 ? Shape::kPre2025 : Shape::kBasil;
    const std::vector<std::string> life = life_of_a_subscription(who, tag, period0_s, shape);
    for (const int event : order) {
      const TestResponse response = deliver(life[static_cast<std::size_t>(event)]);
      EXPECT_EQ(response.status, 200) << response.body;
      EXPECT_NE(response.body.find(R"("status":"processed")"), std::string::npos)
          << "ordering " << index << " event " << event << ": " << response.body;
    }
    FinalState state{get_credits(who.account).body, get_subscription(who.account).body};
    // Bucket ids count the buckets an ordering opened on the way, and the free allowance
    // expires a month after the account's own opening: neither is the final state.
    state.credits_body = std::regex_replace(without(state.credits_body, who.account),
                                            std::regex(R"("id":"b[0-9]+",|"[0-9T:.Z-]{27}")"), "");
    state.subscription_body =
        without(without(state.subscription_body, who.subscription), who.customer);
    return state;
  }
};

TEST_F(WebhookOrderingsTest, All120OrderingsEndInTheSameStateAndVerifyClean) {
  std::vector<std::vector<int>> orderings;
  std::vector<int> order{0, 1, 2, 3, 4};
  do {
    orderings.push_back(order);
  } while (std::next_permutation(order.begin(), order.end()));
  ASSERT_EQ(orderings.size(), 120u);

  const int64_t period0_s = now_s() - 45 * kDayS;
  std::vector<FinalState> finals(orderings.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> clients;
  const auto started = std::chrono::steady_clock::now();
  for (int thread = 0; thread < kClientThreads; ++thread) {
    clients.emplace_back([&] {
      for (std::size_t i = next++; i < orderings.size(); i = next++) {
        finals[i] = run_ordering(static_cast<int>(i), orderings[i], period0_s);
      }
    });
  }
  for (auto& client : clients) client.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("120 orderings, 600 deliveries over HTTP: %.2f s\n", seconds);

  for (std::size_t i = 0; i < finals.size(); ++i) {
    EXPECT_EQ(finals[i], finals[0]) << "ordering " << i << " differs:\n"
                                    << finals[i].credits_body << "\n"
                                    << finals[i].subscription_body;
  }
  EXPECT_EQ(finals[0].credits_body,
            R"({"account_id":"","plan":"free","credits_available":300,"credits_reserved":0,)"
            R"("buckets":[{"source":"plan_allowance","remaining":300,"expires_at":,)"
            R"("priority":50}],"next_expiry":,"next_expiry_credits":300})");
  EXPECT_EQ(finals[0].subscription_body,
            R"({"plan":"free","status":"canceled","current_period_end":")" +
                ledger::format_rfc3339((period0_s + 2 * kMonthS) * 1'000'000) +
                R"(","cancel_at_period_end":false,"scheduled_plan":null,)"
                R"("stripe_customer_id":"","stripe_subscription_id":""})");

  auto connection = database_->connect();
  const audit::VerifyReport verify = audit::verify_ledger(*database_->connect_pg());
  EXPECT_TRUE(verify.clean) << verify.problem << " " << verify.stream_id;
  EXPECT_EQ(verify.streams_checked, 120);
  const audit::ReconcileReport reconcile = audit::reconcile_stripe(*database_->connect_pg());
  EXPECT_TRUE(reconcile.clean) << reconcile.problem << " " << reconcile.account_id << " "
                               << reconcile.reference;
  EXPECT_GT(reconcile.invoices_checked, 0);
  EXPECT_GE(reconcile.grants_checked, 120);
  // Every delivery was applied or recognised as superseded, none parked or failed.
  pqxx::read_transaction work(*connection);
  EXPECT_EQ(work.exec1("SELECT count(*) FROM webhook_processing WHERE status <> 'processed'")[0]
                .as<int64_t>(),
            0);
}

}  // namespace
}  // namespace billing_tests
