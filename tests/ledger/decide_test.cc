// Pure tests of decide_and_apply and apply_event: every command against every relevant
// state, with no database.
#include <gtest/gtest.h>

#include <limits>

#include "ledger/account.h"
#include "ledger/commands.h"

namespace {

using namespace ledger;

constexpr int64_t kNow = 1'700'000'000'000'000;  // microseconds

PlanCatalog test_plans() {
  auto parsed = PlanCatalog::parse(R"({"plans":[
    {"id":"free","monthly_credits":300,"pricing":{"humanize":{"base_words":100,"base_credits":40},
     "detect":{"base_words":100,"base_credits":10}}},
    {"id":"pro","monthly_credits":10000,"pricing":{"humanize":{"base_words":100,"base_credits":30},
     "detect":{"base_words":100,"base_credits":8}},"stripe_prices":{"monthly":"price_m","yearly":"price_y"},"currencies":["usd"]}]})");
  return std::get<PlanCatalog>(parsed);
}

class DecideTest : public ::testing::Test {
 protected:
  Decision run(CommandBody body, int64_t now_us = kNow) {
    Command command{"alice", "key-" + std::to_string(++key_), std::move(body), {}};
    return decide_and_apply(state_, command, now_us, plans_);
  }
  std::string reserve(int64_t amount, int64_t ttl_s = 60) {
    const std::string id = "res_" + std::to_string(++key_);
    Decision d = run(ReserveCredits{amount, "humanize", ttl_s, id});
    EXPECT_TRUE(d.outcome.ok()) << rejection_code(d.outcome.rejection);
    return id;
  }

  PlanCatalog plans_ = test_plans();
  AccountState state_ = empty_account("alice");
  int key_ = 0;
};

TEST_F(DecideTest, FirstCommandOpensTheAccountWithTheFreeAllowance) {
  Decision d = run(OpenAccount{});
  ASSERT_TRUE(d.outcome.ok());
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(event_type_name(d.events[0]), "AccountOpened");
  EXPECT_EQ(std::get<CreditsGranted>(d.events[1]).amount, 300);
  EXPECT_EQ(state_.credits_available, 300);
  EXPECT_EQ(state_.version, 2);
  EXPECT_EQ(d.outcome.plan_id, "free");
  // Opening twice is a no-op.
  EXPECT_TRUE(run(OpenAccount{}).events.empty());
  EXPECT_EQ(state_.version, 2);
}

TEST_F(DecideTest, ACommandThatMayNotOpenTheAccountIsRejectedUntilItIsOpen) {
  Command closed{"alice", "k1", ReserveCredits{5, "detect", 60, "res_1"}, {}};
  closed.may_open_account = false;
  Decision d = decide_and_apply(state_, closed, kNow, plans_);
  EXPECT_EQ(d.outcome.rejection, Rejection::kAccountNotFound);
  EXPECT_TRUE(d.events.empty());
  EXPECT_FALSE(state_.opened);
  EXPECT_EQ(rejection_code(Rejection::kAccountNotFound), "account_not_found");
  ASSERT_TRUE(run(OpenAccount{}).outcome.ok());
  closed.idempotency_key = "k2";
  d = decide_and_apply(state_, closed, kNow, plans_);
  ASSERT_TRUE(d.outcome.ok());
  EXPECT_EQ(state_.credits_reserved, 5);
}

TEST_F(DecideTest, RejectedFirstCommandDoesNotOpenTheAccount) {
  Decision d = run(ReserveCredits{301, "detect", 60, "res_x"});
  EXPECT_EQ(d.outcome.rejection, Rejection::kInsufficientCredits);
  EXPECT_EQ(d.outcome.credits_needed, 301);
  EXPECT_EQ(d.outcome.credits_available, 300);
  EXPECT_TRUE(d.events.empty());
  EXPECT_FALSE(state_.opened);
  EXPECT_EQ(state_.version, 0);
}

TEST_F(DecideTest, ReserveMovesAvailableToReserved) {
  Decision d = run(ReserveCredits{120, "humanize", 60, "res_a"});
  ASSERT_TRUE(d.outcome.ok());
  EXPECT_EQ(d.outcome.expires_at_us, kNow + 60'000'000);
  EXPECT_EQ(state_.credits_available, 180);
  EXPECT_EQ(state_.credits_reserved, 120);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(DecideTest, ReserveExactlyAllThenOneMoreIsInsufficient) {
  reserve(300);
  Decision d = run(ReserveCredits{1, "humanize", 60, "res_b"});
  EXPECT_EQ(d.outcome.rejection, Rejection::kInsufficientCredits);
  EXPECT_EQ(d.outcome.credits_available, 0);
}

TEST_F(DecideTest, AmountsMustBePositiveAndBounded) {
  for (int64_t amount : {int64_t{0}, int64_t{-1}, kAmountMax + 1,
                         std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}) {
    EXPECT_EQ(run(ReserveCredits{amount, "humanize", 60, "r"}).outcome.rejection,
              Rejection::kInvalidAmount);
    EXPECT_EQ(run(GrantCredits{amount, "x", "admin"}).outcome.rejection, Rejection::kInvalidAmount);
    EXPECT_EQ(run(RefundCredits{amount, "x", "y"}).outcome.rejection, Rejection::kInvalidAmount);
  }
  EXPECT_FALSE(state_.opened);
}

TEST_F(DecideTest, ReserveValidatesFeatureTtlAndId) {
  EXPECT_EQ(run(ReserveCredits{1, "", 60, "r"}).outcome.rejection, Rejection::kInvalidCommand);
  EXPECT_EQ(run(ReserveCredits{1, "f", 0, "r"}).outcome.rejection, Rejection::kInvalidCommand);
  EXPECT_EQ(run(ReserveCredits{1, "f", kReservationTtlMaxS + 1, "r"}).outcome.rejection,
            Rejection::kInvalidCommand);
  EXPECT_EQ(run(ReserveCredits{1, "f", 60, ""}).outcome.rejection, Rejection::kInvalidCommand);
  const std::string id = reserve(5);
  EXPECT_EQ(run(ReserveCredits{1, "f", 60, id}).outcome.rejection, Rejection::kInvalidCommand);
}

TEST_F(DecideTest, CaptureLessThanReservedReleasesTheRest) {
  const std::string id = reserve(100);
  Decision d = run(CaptureReservation{id, 70});
  ASSERT_TRUE(d.outcome.ok());
  EXPECT_EQ(d.outcome.credits_used, 70);
  EXPECT_EQ(d.outcome.credits_released, 30);
  EXPECT_EQ(state_.credits_available, 230);
  EXPECT_EQ(state_.credits_reserved, 0);
  EXPECT_EQ(state_.credits_spent, 70);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(DecideTest, CaptureMoreThanReservedIsRejected) {
  const std::string id = reserve(100);
  Decision d = run(CaptureReservation{id, 101});
  EXPECT_EQ(d.outcome.rejection, Rejection::kCaptureExceedsReservation);
  EXPECT_EQ(state_.credits_reserved, 100);
}

TEST_F(DecideTest, CaptureTwiceIsSettled) {
  const std::string id = reserve(100);
  ASSERT_TRUE(run(CaptureReservation{id, 100}).outcome.ok());
  Decision d = run(CaptureReservation{id, 100});
  EXPECT_EQ(d.outcome.rejection, Rejection::kReservationSettled);
  EXPECT_EQ(d.outcome.reservation_status, "captured");
  EXPECT_EQ(state_.credits_spent, 100);
}

TEST_F(DecideTest, ReleaseAfterCaptureIsSettled) {
  const std::string id = reserve(100);
  ASSERT_TRUE(run(CaptureReservation{id, 10}).outcome.ok());
  EXPECT_EQ(run(ReleaseReservation{id}).outcome.rejection, Rejection::kReservationSettled);
}

TEST_F(DecideTest, CaptureAfterReleaseIsSettled) {
  const std::string id = reserve(100);
  Decision released = run(ReleaseReservation{id});
  ASSERT_TRUE(released.outcome.ok());
  EXPECT_EQ(released.outcome.credits_released, 100);
  EXPECT_EQ(state_.credits_available, 300);
  Decision d = run(CaptureReservation{id, 1});
  EXPECT_EQ(d.outcome.rejection, Rejection::kReservationSettled);
  EXPECT_EQ(d.outcome.reservation_status, "released");
}

TEST_F(DecideTest, CaptureAtOrAfterExpiryIsExpired) {
  const std::string id = reserve(100, 10);
  EXPECT_EQ(run(CaptureReservation{id, 1}, kNow + 10'000'000).outcome.rejection,
            Rejection::kReservationExpired);
  EXPECT_TRUE(run(CaptureReservation{id, 1}, kNow + 9'999'999).outcome.ok());
}

TEST_F(DecideTest, ExpireOnlyWhenDueAndOnlyOnce) {
  const std::string id = reserve(100, 10);
  EXPECT_EQ(run(ExpireReservation{id}, kNow + 1).outcome.rejection, Rejection::kInvalidCommand);
  Decision d = run(ExpireReservation{id}, kNow + 10'000'000);
  ASSERT_TRUE(d.outcome.ok());
  EXPECT_EQ(event_type_name(d.events[0]), "ReservationExpired");
  EXPECT_EQ(state_.credits_available, 300);
  EXPECT_EQ(run(ExpireReservation{id}, kNow + 20'000'000).outcome.rejection,
            Rejection::kReservationSettled);
  // A late capture is expired before and after the sweeper's event alike.
  EXPECT_EQ(run(CaptureReservation{id, 1}, kNow + 20'000'000).outcome.rejection,
            Rejection::kReservationExpired);
  EXPECT_EQ(run(ReleaseReservation{id}, kNow + 20'000'000).outcome.rejection,
            Rejection::kReservationSettled);
}

TEST_F(DecideTest, UnknownReservationIsNotFound) {
  run(OpenAccount{});
  EXPECT_EQ(run(CaptureReservation{"res_nope", 1}).outcome.rejection, Rejection::kReservationNotFound);
  EXPECT_EQ(run(ReleaseReservation{"res_nope"}).outcome.rejection, Rejection::kReservationNotFound);
  EXPECT_EQ(run(ExpireReservation{"res_nope"}).outcome.rejection, Rejection::kReservationNotFound);
}

TEST_F(DecideTest, RefundCannotExceedSpent) {
  const std::string id = reserve(100);
  ASSERT_TRUE(run(CaptureReservation{id, 100}).outcome.ok());
  EXPECT_EQ(run(RefundCredits{101, "r", "ref"}).outcome.rejection, Rejection::kRefundExceedsSpent);
  ASSERT_TRUE(run(RefundCredits{60, "r", "ref"}).outcome.ok());
  EXPECT_EQ(state_.credits_available, 260);
  EXPECT_EQ(state_.credits_spent, 40);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(DecideTest, ARefundReferenceRefundsOnce) {
  const std::string id = reserve(100);
  ASSERT_TRUE(run(CaptureReservation{id, 100}).outcome.ok());
  ASSERT_TRUE(run(RefundCredits{10, "r", "ticket-7"}).outcome.ok());
  EXPECT_EQ(run(RefundCredits{10, "r", "ticket-7"}).outcome.rejection,
            Rejection::kRefundReferenceUsed);
  EXPECT_EQ(run(RefundCredits{5, "other", "ticket-7"}).outcome.rejection,
            Rejection::kRefundReferenceUsed);
  EXPECT_TRUE(run(RefundCredits{5, "r", "ticket-8"}).outcome.ok());
  EXPECT_EQ(state_.credits_spent, 85);
}

TEST_F(DecideTest, GrantOverflowIsRejected) {
  run(OpenAccount{});
  state_.credits_granted = std::numeric_limits<int64_t>::max() - 10;
  state_.credits_available = state_.credits_granted;  // keep the identity
  EXPECT_EQ(run(GrantCredits{11, "x", "admin"}).outcome.rejection, Rejection::kBalanceOverflow);
}

TEST(ApplyEvent, CorruptSequencesAreRefused) {
  AccountState state = empty_account("bob");
  EXPECT_FALSE(apply_event(state, CreditsGranted{5, "x", "admin", ""})) << "must open first";
  state = empty_account("bob");
  ASSERT_TRUE(apply_event(state, AccountOpened{"free"}));
  EXPECT_FALSE(apply_event(state, CreditsReserved{"r", 1, "f", 0})) << "no credits";
  state = empty_account("bob");
  ASSERT_TRUE(apply_event(state, AccountOpened{"free"}));
  ASSERT_TRUE(apply_event(state, CreditsGranted{5, "x", "admin", ""}));
  EXPECT_FALSE(apply_event(state, ReservationCaptured{"missing", 1, 0}));
}

TEST(Outcome, JsonRoundTrip) {
  Outcome o;
  o.rejection = Rejection::kInsufficientCredits;
  o.account_id = "a\"b";
  o.credits_needed = 7;
  o.credits_available = 3;
  o.expires_at_us = -5;
  const Outcome back = Outcome::from_json(o.to_json());
  EXPECT_EQ(back.to_json(), o.to_json());
  EXPECT_EQ(back.rejection, Rejection::kInsufficientCredits);
  EXPECT_THROW(Outcome::from_json("{}"), std::runtime_error);
  EXPECT_THROW(Outcome::from_json(R"({"result":"no_such_code"})"), std::runtime_error);
  EXPECT_THROW(Outcome::from_json(R"({"result":"ok","amount":"7"})"), std::runtime_error);
  EXPECT_THROW(Outcome::from_json("[1]"), std::runtime_error);
}

// A record stored by an earlier version (fewer fields) and one by a later version (a field
// this one does not know) both replay: missing fields default, unknown ones are ignored.
TEST(Outcome, StoredOutcomesOfOtherVersionsReplay) {
  const Outcome older = Outcome::from_json(
      R"({"result":"ok","account_id":"alice","plan_id":"free","reservation_id":"res_1",)"
      R"("amount":40,"expires_at_us":1796032618000000,"credits_available":260,"version":3})");
  EXPECT_TRUE(older.ok());
  EXPECT_EQ(older.reservation_id, "res_1");
  EXPECT_EQ(older.credits_available, 260);
  EXPECT_EQ(older.credits_reserved, 0);
  EXPECT_EQ(older.note, "");
  const Outcome newer = Outcome::from_json(
      R"({"result":"insufficient_credits","account_id":"bob","credits_needed":9,)"
      R"("bucket_draws":[{"bucket":"b1","amount":3}],"note":"x"})");
  EXPECT_EQ(newer.rejection, Rejection::kInsufficientCredits);
  EXPECT_EQ(newer.credits_needed, 9);
  EXPECT_EQ(newer.note, "x");
}

TEST(Fingerprint, ExcludesTheGeneratedReservationId) {
  Command a{"alice", "k", ReserveCredits{5, "f", 60, "res_1"}, {}};
  Command b{"alice", "k", ReserveCredits{5, "f", 60, "res_2"}, {}};
  Command c{"alice", "k", ReserveCredits{6, "f", 60, "res_1"}, {}};
  EXPECT_EQ(command_fingerprint(a), command_fingerprint(b));
  EXPECT_NE(command_fingerprint(a), command_fingerprint(c));
}

TEST(Plans, RejectsBrokenFiles) {
  EXPECT_TRUE(std::holds_alternative<std::string>(PlanCatalog::parse("not json")));
  EXPECT_TRUE(std::holds_alternative<std::string>(PlanCatalog::parse(R"({"plans":[]})")));
  EXPECT_TRUE(std::holds_alternative<std::string>(PlanCatalog::parse(
      R"({"plans":[{"id":"free","monthly_credits":-1,"pricing":{}}]})")));
  const auto pricing = R"("pricing":{"humanize":{"base_words":100,"base_credits":1},"detect":{"base_words":100,"base_credits":1}})";
  const auto plan_with = [&](const std::string& extra) {
    return R"({"plans":[{"id":"free","monthly_credits":300,)" + std::string(pricing) +
           R"(},{"id":"pro","monthly_credits":9,)" + pricing + "," + extra + "}]}";
  };
  const auto error_of = [](const std::string& text) {
    auto parsed = PlanCatalog::parse(text);
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
  };
  EXPECT_NE(error_of(plan_with(R"("stripe_prices":{"monthly":5},"currencies":["usd"])")), "");
  EXPECT_NE(error_of(plan_with(R"("stripe_prices":{"monthly":"p"},"currencies":["USD"])")), "");
  EXPECT_NE(error_of(plan_with(R"("stripe_prices":{"monthly":"p"})")).find("currencies"),
            std::string::npos);
  EXPECT_EQ(error_of(plan_with(R"("stripe_prices":{"monthly":"p"},"currencies":["usd"])")), "");
  const PlanCatalog plans = test_plans();
  ASSERT_NE(plans.find_by_stripe_price("price_y"), nullptr);
  EXPECT_EQ(plans.find_by_stripe_price("price_y")->id, "pro");
  EXPECT_EQ(plans.find_by_stripe_price("nope"), nullptr);
  EXPECT_EQ(plans.free_plan().monthly_credits, 300);
}

// Found by the plans_file fuzz target: the plans file was parsed without UTF-8 validation,
// so an invalid id reached the error messages (and the catalog), and a price with a NUL
// escape was silently cut at the NUL.
TEST(Plans, RefusesStringsThatAreNotStorableText) {
  const auto plans_with_id = [](const std::string& id) {
    return R"({"plans":[{"id":")" + id +
           R"(","monthly_credits":1,"pricing":{"humanize":{"base_words":0,"base_credits":1},)"
           R"("detect":{"base_words":100,"base_credits":1}}}]})";
  };
  for (const char* id : {"free\xE0", "free\\udc00", "free\\u0000x"}) {
    const auto parsed = PlanCatalog::parse(plans_with_id(id));
    ASSERT_TRUE(std::holds_alternative<std::string>(parsed)) << id;
    EXPECT_EQ(std::get<std::string>(parsed).find("free"), std::string::npos) << id;
  }
  EXPECT_TRUE(std::holds_alternative<std::string>(PlanCatalog::parse(
      R"({"plans":[{"id":"free","monthly_credits":1,"pricing":{"humanize":{"base_words":1,)"
      R"("base_credits":1},"detect":{"base_words":1,"base_credits":1}},)"
      R"("stripe_prices":{"monthly":"price_a\u0000b"},"currencies":["usd"]}]})")));
}

}  // namespace
