// The use cases below HTTP, without a server: a real committer on a throwaway PostgreSQL.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <variant>

#include "audit/verify.h"
#include "content/pricing.h"
#include "content/text.h"
#include "ledger/committer.h"
#include "projections/balances.h"
#include "projections/reservations.h"
#include "tests/ledger/ledger_test_support.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/test_database.h"
#include "usecases/account.h"
#include "usecases/charge.h"
#include "usecases/checkout.h"
#include "usecases/content.h"

namespace {

using ledger::Outcome;
using ledger::Rejection;
using testing_support::TestDatabase;
using usecases::LedgerFailure;
using usecases::Refusal;
using usecases::RequestCharge;

class UsecasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger::CommitterOptions options;
    options.database_url = db_.url();
    options.sweep_interval_ms = 0;
    committer_ = ledger::Committer::start(options, plans_);
    reads_ = db_.connect_pg();
    submit_ = [this](ledger::Command command) -> usecases::Submitted {
      submitted_ += 1;
      return committer_->submit(std::move(command)).get();
    };
  }
  void TearDown() override {
    const auto report = audit::verify_ledger(*reads_);
    EXPECT_TRUE(report.clean) << report.problem << " at " << report.stream_id;
  }
  RequestCharge charge(const std::string& account, const std::string& key_base) {
    return RequestCharge(account, metadata_, key_base, submit_, reads());
  }
  usecases::ReadConnection reads() {
    return [this]() -> pg::Connection& { return *reads_; };
  }
  projections::balances::BalanceView balance(const std::string& account) {
    auto view = projections::balances::read(*reads_, account);
    EXPECT_TRUE(view.has_value());
    return view.value_or(projections::balances::BalanceView{});
  }

  TestDatabase db_;
  ledger::PlanCatalog plans_ = ledger_tests::shipped_plans();
  std::unique_ptr<ledger::Committer> committer_;
  std::unique_ptr<pg::Connection> reads_;
  usecases::CommandSubmitter submit_;
  ledger::EventMetadata metadata_{};
  int submitted_ = 0;
};

TEST_F(UsecasesTest, TheFirstRequestOpensTheAccountOnTheFreePlan) {
  auto plan = usecases::account_plan(*reads_, plans_, submit_, "ann", metadata_);
  ASSERT_TRUE(std::holds_alternative<const ledger::Plan*>(plan));
  EXPECT_EQ(std::get<const ledger::Plan*>(plan)->id, ledger::PlanCatalog::kFreePlanId);
  auto view = usecases::current_credits(*reads_, submit_, "ann", metadata_);
  ASSERT_TRUE(std::holds_alternative<projections::balances::BalanceView>(view));
  EXPECT_EQ(std::get<projections::balances::BalanceView>(view).credits_available, 300);
  const int after_open = submitted_;
  // Open accounts are read, not opened again.
  view = usecases::current_credits(*reads_, submit_, "ann", metadata_);
  ASSERT_TRUE(std::holds_alternative<projections::balances::BalanceView>(view));
  EXPECT_EQ(submitted_, after_open);
}

TEST_F(UsecasesTest, AChargeCapturesWhatWasDeliveredAndReleasesTheRest) {
  ASSERT_TRUE(std::holds_alternative<Outcome>(usecases::open_account(submit_, "bea", metadata_)));
  RequestCharge first = charge("bea", "k1#humanize");
  ASSERT_FALSE(first.reserve(10, "humanize", 600).has_value());
  EXPECT_EQ(balance("bea").credits_reserved, 10);
  auto captured = first.capture(7);
  ASSERT_TRUE(std::holds_alternative<Outcome>(captured));
  EXPECT_EQ(std::get<Outcome>(captured).credits_available, 293);
  EXPECT_EQ(balance("bea").credits_available, 293);
  EXPECT_EQ(balance("bea").credits_reserved, 0);

  // The same key again: that request was charged, so it is a conflict, not a second charge.
  RequestCharge retried = charge("bea", "k1#humanize");
  auto refused = retried.reserve(10, "humanize", 600);
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(std::holds_alternative<usecases::IdempotencyConflict>(*refused));
  EXPECT_EQ(balance("bea").credits_available, 293);
}

TEST_F(UsecasesTest, AKeyWhoseReservationWasReleasedChainsToANewChargeOnce) {
  ASSERT_TRUE(std::holds_alternative<Outcome>(usecases::open_account(submit_, "cai", metadata_)));
  RequestCharge failed = charge("cai", "k#detect");
  ASSERT_FALSE(failed.reserve(20, "detect", 600).has_value());
  ASSERT_TRUE(failed.release());
  EXPECT_EQ(balance("cai").credits_available, 300);

  RequestCharge retried = charge("cai", "k#detect");
  ASSERT_FALSE(retried.reserve(20, "detect", 600).has_value());
  EXPECT_NE(retried.reservation_id(), failed.reservation_id());
  ASSERT_TRUE(std::holds_alternative<Outcome>(retried.capture(20)));
  EXPECT_EQ(
      projections::reservations::read_status(*reads_, "cai", failed.reservation_id()).value_or(""),
      "released");
  EXPECT_EQ(balance("cai").credits_available, 280);

  // A key released over and over ends in a conflict after kReservationAttemptsMax links.
  ASSERT_TRUE(std::holds_alternative<Outcome>(usecases::open_account(submit_, "dan", metadata_)));
  for (int i = 0; i < usecases::kReservationAttemptsMax; ++i) {
    RequestCharge attempt = charge("dan", "loop");
    ASSERT_FALSE(attempt.reserve(1, "detect", 600).has_value()) << i;
    ASSERT_TRUE(attempt.release());
  }
  auto exhausted = charge("dan", "loop").reserve(1, "detect", 600);
  ASSERT_TRUE(exhausted.has_value());
  EXPECT_TRUE(std::holds_alternative<usecases::IdempotencyConflict>(*exhausted));
  EXPECT_EQ(balance("dan").credits_available, 300);
  EXPECT_EQ(balance("dan").credits_reserved, 0);
}

TEST_F(UsecasesTest, RefusalsAreValuesAndChangeNothing) {
  ASSERT_TRUE(std::holds_alternative<Outcome>(usecases::open_account(submit_, "eve", metadata_)));
  auto refused = charge("eve", "big").reserve(301, "humanize", 600);
  ASSERT_TRUE(refused.has_value());
  ASSERT_TRUE(std::holds_alternative<Outcome>(*refused));
  EXPECT_EQ(std::get<Outcome>(*refused).rejection, Rejection::kInsufficientCredits);
  EXPECT_EQ(std::get<Outcome>(*refused).credits_needed, 301);
  EXPECT_EQ(balance("eve").credits_reserved, 0);

  // A ledger that gives no outcome: the failure comes back as it is, nothing is reserved.
  const usecases::CommandSubmitter down = [](ledger::Command) -> usecases::Submitted {
    return LedgerFailure::kOverloaded;
  };
  RequestCharge unavailable("eve", metadata_, "down", down, reads());
  auto failed = unavailable.reserve(5, "humanize", 600);
  ASSERT_TRUE(failed.has_value());
  ASSERT_TRUE(std::holds_alternative<LedgerFailure>(*failed));
  EXPECT_EQ(std::get<LedgerFailure>(*failed), LedgerFailure::kOverloaded);
  auto plan = usecases::account_plan(*reads_, plans_, down, "never-opened", metadata_);
  ASSERT_TRUE(std::holds_alternative<Refusal>(plan));
  EXPECT_TRUE(std::holds_alternative<LedgerFailure>(std::get<Refusal>(plan)));
  EXPECT_FALSE(projections::balances::read(*reads_, "never-opened").has_value());
  EXPECT_EQ(balance("eve").credits_available, 300);
}

usecases::SanitizedText sanitized(int words) {
  std::string text;
  for (int i = 0; i < words; ++i) text += (i % 12 == 11) ? "word. " : "word ";
  usecases::SanitizedText sanitized_text;
  sanitized_text.text = content::sanitize_text(text);
  sanitized_text.word_count = content::count_words(sanitized_text.text);
  sanitized_text.chunks = content::split_into_chunks(sanitized_text.text);
  return sanitized_text;
}

class ContentUsecaseTest : public UsecasesTest {
 protected:
  // The built-in rewriter and heuristic detector (no URLs), or a humanizer nobody answers.
  usecases::ContentService service(std::string humanizer_url = "") {
    integrations::HumanizerSettings humanizer;
    humanizer.url = std::move(humanizer_url);
    humanizer.timeout_ms = 2'000;
    humanizer.overall_timeout_ms = 5'000;
    return usecases::ContentService({2, 600}, plans_, humanizer, {}, {});
  }
  usecases::ContentRequest request(const std::string& account, const std::string& key) {
    return {account, metadata_, key, "test"};
  }
};

TEST_F(ContentUsecaseTest, HumanizeChargesThePlansPriceOfWhatWasDelivered) {
  usecases::ContentService content = service();
  const auto text = sanitized(30);
  auto result = content.humanize(reads(), submit_, request("fay", "h1"), text, {});
  ASSERT_TRUE(std::holds_alternative<usecases::HumanizeResult>(result));
  const auto& humanized = std::get<usecases::HumanizeResult>(result);
  EXPECT_EQ(humanized.credits_used, 40);  // free plan: 40 credits per 100 words or fewer
  EXPECT_EQ(humanized.credits_remaining, 260);
  EXPECT_EQ(humanized.chunks_failed, 0u);
  EXPECT_FALSE(humanized.humanized_text.empty());
  EXPECT_EQ(balance("fay").credits_available, 260);
  EXPECT_EQ(balance("fay").credits_reserved, 0);
}

TEST_F(ContentUsecaseTest, DetectChargesInFullWhenADetectorAnswered) {
  usecases::ContentService content = service();
  auto result = content.detect(reads(), submit_, request("gus", "d1"), sanitized(30),
                               integrations::DetectorSelection());
  ASSERT_TRUE(std::holds_alternative<usecases::DetectResult>(result));
  const auto& detected = std::get<usecases::DetectResult>(result);
  EXPECT_EQ(detected.report.internal.status, integrations::DetectorStatus::kSuccess);
  EXPECT_EQ(detected.credits_used, 10);
  EXPECT_EQ(balance("gus").credits_available, 290);
}

TEST_F(ContentUsecaseTest, NothingDeliveredOrNotAffordableIsNotCharged) {
  // A humanizer nobody answers: every chunk fails, the reservation is released.
  usecases::ContentService unreachable = service("http://127.0.0.1:1/humanize");
  auto failed = unreachable.humanize(reads(), submit_, request("hal", "h1"), sanitized(30), {});
  EXPECT_TRUE(std::holds_alternative<usecases::ModelsUnavailable>(failed));
  EXPECT_EQ(balance("hal").credits_available, 300);
  EXPECT_EQ(balance("hal").credits_reserved, 0);
  // 800 words cost about 320 credits on the free plan: refused before any model call.
  usecases::ContentService content = service();
  const auto long_text = sanitized(800);
  int64_t price = 0;
  for (const auto& chunk : long_text.chunks)
    price += content::price_chunk(chunk.word_count, {100, 40});
  ASSERT_GT(price, 300);
  auto refused = content.humanize(reads(), submit_, request("hal", "h2"), long_text, {});
  ASSERT_TRUE(std::holds_alternative<Refusal>(refused));
  const Refusal& refusal = std::get<Refusal>(refused);
  ASSERT_TRUE(std::holds_alternative<Outcome>(refusal));
  EXPECT_EQ(std::get<Outcome>(refusal).rejection, Rejection::kInsufficientCredits);
  EXPECT_EQ(std::get<Outcome>(refusal).credits_needed, price);
  EXPECT_EQ(balance("hal").credits_available, 300);
}

TEST_F(UsecasesTest, ACheckoutIsCheckedAgainstThePlansFileBeforeStripeIsAsked) {
  testing_support::FakeHttpServer stripe_server([](const testing_support::RecordedRequest&) {
    return testing_support::FakeResponse::json(
        200, R"({"id":"cs_test_1","object":"checkout.session","url":"https://checkout.test/1"})");
  });
  const integrations::StripeClient stripe({stripe_server.url(), "sk_test_key", 1'000, 2'000});
  const usecases::CheckoutUrls urls{"https://app.test/ok", "https://app.test/cancel"};
  const auto refusal_code = [&](usecases::CheckoutChoice choice) -> std::string {
    auto result = usecases::start_checkout(*reads_, stripe, plans_, urls, "ivy", choice, "k");
    const auto* refusal = std::get_if<usecases::CheckoutRefusal>(&result);
    return refusal == nullptr ? "" : refusal->code;
  };
  EXPECT_EQ(refusal_code({"nope", "monthly", "", "usd"}), "unknown_plan");
  EXPECT_EQ(refusal_code({"free", "monthly", "", "usd"}), "plan_not_purchasable");
  EXPECT_EQ(refusal_code({"pro", "weekly", "", "usd"}), "invalid_billing_cycle");
  EXPECT_EQ(refusal_code({"pro", "monthly", "", "jpy"}), "unsupported_currency");
  EXPECT_EQ(refusal_code({"", "", "pack_nope", "usd"}), "unknown_pack");
  EXPECT_EQ(refusal_code({"", "", "pack_1000", "gbp"}), "unsupported_currency");
  EXPECT_EQ(stripe_server.request_count(), 0u) << "refusals never reach Stripe";

  const integrations::StripeClient unconfigured({stripe_server.url(), "", 1'000, 2'000});
  EXPECT_TRUE(std::holds_alternative<usecases::StripeNotConfigured>(usecases::start_checkout(
      *reads_, unconfigured, plans_, urls, "ivy", {"pro", "monthly", "", "USD"}, "k")));

  auto session = usecases::start_checkout(*reads_, stripe, plans_, urls, "ivy",
                                          {"", "", "pack_1000", "EUR"}, "key-1");
  ASSERT_TRUE(std::holds_alternative<integrations::CheckoutSession>(session));
  EXPECT_EQ(std::get<integrations::CheckoutSession>(session).id, "cs_test_1");
  ASSERT_EQ(stripe_server.request_count(), 1u);
  const auto sent = stripe_server.requests().front();
  EXPECT_EQ(sent.header("Idempotency-Key").value_or(""), "key-1");
  EXPECT_NE(sent.body.find("price_pack_1000"), std::string::npos) << sent.body;
  EXPECT_NE(sent.body.find("mode=payment"), std::string::npos) << sent.body;
}

}  // namespace
