// Credit buckets (README "Credit buckets"): burn-down order, draws named by the events,
// expiry exactly once, reservations that outlive their bucket, the free plan's monthly
// refresh, renewals and cancellations that keep purchased and granted credits, events
// recorded before buckets; and through the committer on a real PostgreSQL: the sweeper,
// verify and replay, and migration 012's backfill of pre-bucket rows.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <limits>
#include <thread>

#include "audit/verify.h"
#include "crypto/digest.h"
#include "ledger/committer.h"
#include "ledger/migrations.h"
#include "ledger/store.h"
#include "ledger/time_format.h"
#include "projections/balances.h"
#include "tests/ledger/ledger_test_support.h"
#include "tests/support/test_database.h"

namespace {

using namespace ledger;

constexpr int64_t kMinuteUs = 60'000'000;
constexpr int64_t kHourUs = 60 * kMinuteUs;
constexpr int64_t kDayUs = 24 * kHourUs;

int64_t at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

class BucketsTest : public ::testing::Test {
 protected:
  Decision run(CommandBody body, int64_t now_us) {
    Command command{"acct", "k" + std::to_string(++keys_), std::move(body), {}};
    return decide_and_apply(state_, command, now_us, plans_);
  }
  void spend(int64_t credits, int64_t now_us) {
    const std::string id = "spend-" + std::to_string(keys_);
    ASSERT_TRUE(run(ReserveCredits{credits, "humanize", 600, id}, now_us).outcome.ok());
    ASSERT_TRUE(run(CaptureReservation{id, credits}, now_us).outcome.ok());
  }
  // The life of subscription sub_1 on pro from t0_: its checkout (a 30-day period), the
  // next period's invoice a minute after the first ends, its deletion on day 40.
  StripeBillingEvent checkout_pro() const {
    auto e = ledger_tests::stripe_event("evt_checkout", "checkout.session.completed", t0_s_, "pro");
    e.period_start_s = t0_s_;
    e.period_end_s = t0_s_ + 30 * 86'400;
    return e;
  }
  StripeBillingEvent renewal_pro() const {
    auto e =
        ledger_tests::stripe_event("evt_renewal", "invoice.paid", t0_s_ + 30 * 86'400 + 60, "pro");
    e.billing_reason = "subscription_cycle";
    e.period_start_s = t0_s_ + 30 * 86'400;
    e.period_end_s = t0_s_ + 60 * 86'400;
    return e;
  }
  StripeBillingEvent deletion() const {
    auto e = ledger_tests::stripe_event("evt_deleted", "customer.subscription.deleted",
                                        t0_s_ + 40 * 86'400);
    e.status = "canceled";
    return e;
  }
  const CreditBucket* bucket(const std::string& id) const {
    const auto it = state_.buckets.find(id);
    return it == state_.buckets.end() ? nullptr : &it->second;
  }

  PlanCatalog plans_ = ledger_tests::shipped_plans();
  AccountState state_ = empty_account("acct");
  int keys_ = 0;
  const int64_t t0_ = at("2026-01-31T10:00:00Z");
  const int64_t t0_s_ = t0_ / 1'000'000;
};

TEST_F(BucketsTest, ReservationsDrawEarliestExpiryThenPriorityThenOldest) {
  ASSERT_TRUE(run(OpenAccount{}, t0_).outcome.ok());
  ASSERT_NE(bucket("b1"), nullptr) << "the free allowance";
  EXPECT_EQ(bucket("b1")->expires_at_us, at("2026-02-28T10:00:00Z")) << "a calendar month";
  EXPECT_EQ(run(GrantCredits{100, "never expires", "admin"}, t0_).outcome.bucket_id, "b2");
  EXPECT_EQ(
      run(GrantCredits{50, "promo", "promotional", t0_ + 5 * kDayUs, 50}, t0_).outcome.bucket_id,
      "b3");
  EXPECT_EQ(run(GrantCredits{70, "urgent", "admin", t0_ + 5 * kDayUs, 10}, t0_).outcome.bucket_id,
            "b4");

  const Decision reserved = run(ReserveCredits{150, "humanize", 600, "r1"}, t0_ + kDayUs);
  ASSERT_TRUE(reserved.outcome.ok());
  ASSERT_EQ(reserved.events.size(), 1u);
  const auto& event = std::get<CreditsReserved>(reserved.events[0]);
  ASSERT_TRUE(event.draws.has_value());
  // Same expiry: priority 10 before 50; then the free allowance (a month); never last.
  EXPECT_EQ(*event.draws, (std::vector<BucketDraw>{{"b4", 70}, {"b3", 50}, {"b1", 30}}));
  EXPECT_NE(encode_event_payload(reserved.events[0]).find(R"("draws":[{"bucket_id":"b4")"),
            std::string::npos);

  // A capture spends the draws in their order and gives the rest back where it came from.
  ASSERT_TRUE(run(CaptureReservation{"r1", 100}, t0_ + kDayUs).outcome.ok());
  EXPECT_EQ(bucket("b4"), nullptr) << "spent: dropped";
  EXPECT_EQ(bucket("b3")->remaining, 20);
  EXPECT_EQ(bucket("b1")->remaining, 300);
  EXPECT_EQ(bucket("b2")->remaining, 100);
  EXPECT_EQ(state_.credits_available, 420);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BucketsTest, ABucketExpiresOnceWithWhatIsLeft) {
  ASSERT_TRUE(run(OpenAccount{}, t0_).outcome.ok());
  ASSERT_TRUE(
      run(GrantCredits{50, "promo", "promotional", t0_ + 5 * kDayUs, 50}, t0_).outcome.ok());
  spend(30, t0_ + kDayUs);  // from the promotion: it expires first
  EXPECT_EQ(run(SettleCreditsDue{}, t0_ + 5 * kDayUs - 1).outcome.note, "nothing_due");
  const Decision settled = run(SettleCreditsDue{}, t0_ + 5 * kDayUs);
  EXPECT_EQ(settled.outcome.note, "settled");
  ASSERT_EQ(settled.events.size(), 1u);
  const auto& expired = std::get<CreditsExpired>(settled.events[0]);
  EXPECT_EQ(expired.amount, 20);
  EXPECT_EQ(expired.bucket_id, "b2");
  const Decision again = run(SettleCreditsDue{}, t0_ + 6 * kDayUs);
  EXPECT_EQ(again.outcome.note, "nothing_due");
  EXPECT_TRUE(again.events.empty());
  EXPECT_EQ(state_.credits_expired, 20);
  EXPECT_EQ(state_.credits_available, 300);
  // Any command settles what is due first: a reservation never draws expired credits.
  ASSERT_TRUE(
      run(GrantCredits{10, "short", "admin", t0_ + 7 * kDayUs, 0}, t0_ + 6 * kDayUs).outcome.ok());
  const Decision reserve = run(ReserveCredits{305, "humanize", 600, "late"}, t0_ + 8 * kDayUs);
  EXPECT_EQ(reserve.outcome.rejection, Rejection::kInsufficientCredits);
  EXPECT_EQ(reserve.outcome.credits_available, 300) << "the expired 10 are not offered";
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BucketsTest, AReservationOutlivesItsBucketAndWhatItGivesBackExpires) {
  ASSERT_TRUE(run(OpenAccount{}, t0_).outcome.ok());
  ASSERT_TRUE(run(GrantCredits{50, "hour", "promotional", t0_ + kHourUs, 0}, t0_).outcome.ok());
  ASSERT_TRUE(run(ReserveCredits{80, "humanize", 7200, "long"}, t0_).outcome.ok());
  ASSERT_TRUE(run(ReserveCredits{10, "detect", 7200, "other"}, t0_).outcome.ok());
  // After the hour: the reserved credits are not expired from under the reservation.
  const Decision settled = run(SettleCreditsDue{}, t0_ + 90 * kMinuteUs);
  EXPECT_EQ(settled.outcome.note, "nothing_due");
  EXPECT_EQ(bucket("b2")->reserved, 50);
  // Capturing 20 spends them from the expired bucket; the 30 it gives back expire with it,
  // in the same command; the free allowance's 30 come back available.
  const Decision captured = run(CaptureReservation{"long", 20}, t0_ + 90 * kMinuteUs);
  ASSERT_TRUE(captured.outcome.ok());
  ASSERT_EQ(captured.events.size(), 2u);
  const auto& expired = std::get<CreditsExpired>(captured.events[1]);
  EXPECT_EQ(expired.amount, 30);
  EXPECT_EQ(expired.bucket_id, "b2");
  EXPECT_EQ(bucket("b2"), nullptr);
  EXPECT_EQ(state_.credits_available, 290);
  EXPECT_EQ(state_.credits_reserved, 10);
  EXPECT_EQ(state_.credits_spent, 20);
  EXPECT_EQ(state_.credits_expired, 30);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BucketsTest, TheFreePlanRefreshesOncePerCalendarMonthFromOpening) {
  ASSERT_TRUE(run(OpenAccount{}, t0_).outcome.ok());
  spend(100, t0_ + kDayUs);
  // The sweeper only expires: a dormant account gets no allowance, hence no events, until
  // it is used again.
  AccountState dormant = state_;
  Command sweep{"acct", "sweep", SettleCreditsDue{}, {}};
  const Decision swept = decide_and_apply(dormant, sweep, at("2026-04-01T00:00:00Z"), plans_);
  ASSERT_EQ(swept.events.size(), 1u);
  EXPECT_EQ(std::get<CreditsExpired>(swept.events[0]).amount, 200);
  EXPECT_EQ(credits_due_us(dormant), 0) << "nothing left to expire: never due";
  EXPECT_EQ(credits_due_us(state_), at("2026-02-28T10:00:00Z"));
  EXPECT_EQ(run(SettleCreditsDue{true}, at("2026-02-28T09:59:59Z")).outcome.note, "nothing_due");

  const Decision refresh = run(SettleCreditsDue{true}, at("2026-02-28T10:00:00Z"));
  ASSERT_EQ(refresh.events.size(), 2u);
  EXPECT_EQ(std::get<CreditsExpired>(refresh.events[0]).amount, 200);
  const auto& grant = std::get<CreditsGranted>(refresh.events[1]);
  EXPECT_EQ(grant.amount, 300);
  EXPECT_EQ(grant.period_key, "free:1");
  EXPECT_EQ(grant.expires_at_us, at("2026-03-31T10:00:00Z"));
  EXPECT_EQ(state_.credits_available, 300);
  EXPECT_EQ(run(SettleCreditsDue{true}, at("2026-02-28T10:00:00Z")).outcome.note, "nothing_due");

  // The same grant once more does not fold: never twice for one period.
  AccountState copy = state_;
  EXPECT_FALSE(apply_event(copy, refresh.events[1]));

  // Months nobody used are skipped: one grant for the month that holds now.
  const Decision later = run(SettleCreditsDue{true}, at("2026-06-15T00:00:00Z"));
  ASSERT_EQ(later.events.size(), 2u);
  EXPECT_EQ(std::get<CreditsGranted>(later.events[1]).period_key, "free:4");
  EXPECT_EQ(std::get<CreditsGranted>(later.events[1]).expires_at_us, at("2026-06-30T10:00:00Z"));
  EXPECT_EQ(state_.credits_available, 300);
  EXPECT_EQ(state_.credits_granted, 900);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BucketsTest, RenewalAndCancellationKeepGrantedCredits) {
  ASSERT_TRUE(run(checkout_pro(), t0_).outcome.ok());
  ASSERT_TRUE(run(GrantCredits{500, "goodwill", "admin"}, t0_).outcome.ok());
  spend(2'000, t0_ + kDayUs);  // from the allowance: it expires first
  EXPECT_EQ(state_.credits_available, 10'000 - 2'000 + 500);

  ASSERT_TRUE(run(renewal_pro(), t0_ + 30 * kDayUs + kMinuteUs).outcome.ok());
  EXPECT_EQ(state_.credits_available, 10'000 + 500) << "the allowance renews, the grant stays";
  EXPECT_EQ(state_.credits_expired, 8'000 + 300);

  ASSERT_TRUE(run(deletion(), t0_ + 40 * kDayUs).outcome.ok());
  EXPECT_EQ(state_.plan_id, "free");
  EXPECT_EQ(state_.credits_available, 300 + 500);
  // The free allowance lasts until the account's next monthly boundary.
  EXPECT_EQ(credits_due_us(state_), at("2026-03-31T10:00:00Z"));
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BucketsTest, PacksBurnDownAfterAllowancesAndSurviveRenewalAndCancellation) {
  const auto pack = [&](std::string id, int64_t credits, int64_t days, std::string payment) {
    StripeBillingEvent e =
        ledger_tests::stripe_event("evt_" + payment, "checkout.session.completed", t0_s_);
    e.subscription_id.clear();
    e.pack_id = std::move(id);
    e.pack_credits = credits;
    e.pack_expires_after_days = days;
    e.payment_reference = std::move(payment);
    return e;
  };
  ASSERT_TRUE(run(checkout_pro(), t0_).outcome.ok());  // b2
  ASSERT_TRUE(run(GrantCredits{200, "promo", "promotional", t0_ + 10 * kDayUs, 50}, t0_)
                  .outcome.ok());                                                         // b3
  EXPECT_EQ(run(pack("pack_1000", 1'000, 0, "pi_a"), t0_).outcome.note, "pack_granted");  // b4
  ASSERT_TRUE(run(pack("pack_500", 500, 365, "pi_b"), t0_).outcome.ok());                 // b5
  EXPECT_EQ(run(pack("pack_1000", 1'000, 0, "pi_a"), t0_).outcome.note, "pack_already_granted");
  EXPECT_EQ(state_.credits_available, 10'000 + 200 + 1'000 + 500);

  const Decision reserved = run(ReserveCredits{10'500, "humanize", 600, "big"}, t0_ + kDayUs);
  ASSERT_TRUE(reserved.outcome.ok());
  EXPECT_EQ(*std::get<CreditsReserved>(reserved.events[0]).draws,
            (std::vector<BucketDraw>{{"b3", 200}, {"b2", 10'000}, {"b5", 300}}))
      << "promotion (10 days), allowance (30 days), the expiring pack; the lasting pack last";
  ASSERT_TRUE(run(CaptureReservation{"big", 10'500}, t0_ + kDayUs).outcome.ok());

  ASSERT_TRUE(run(renewal_pro(), t0_ + 30 * kDayUs + kMinuteUs).outcome.ok());
  EXPECT_EQ(state_.credits_available, 10'000 + 1'000 + 200) << "packs survive the renewal";

  ASSERT_TRUE(run(deletion(), t0_ + 40 * kDayUs).outcome.ok());
  EXPECT_EQ(state_.credits_available, 300 + 1'000 + 200) << "and the cancellation";
  EXPECT_EQ(state_.refund_references.count(pack_reference_key("pi_a")), 1u);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BucketsTest, ARefundOfAReservedPackTakesItsCreditsAsTheyComeBack) {
  ASSERT_TRUE(run(OpenAccount{}, t0_).outcome.ok());
  StripeBillingEvent bought;
  bought.stripe_event_id = "evt_pack";
  bought.type = "checkout.session.completed";
  bought.created_s = t0_ / 1'000'000;
  bought.pack_id = "pack_1000";
  bought.pack_credits = 1'000;
  bought.payment_reference = "pi_1";
  ASSERT_TRUE(run(bought, t0_).outcome.ok());
  ASSERT_TRUE(run(ReserveCredits{1'300, "humanize", 600, "all"}, t0_).outcome.ok());

  StripeBillingEvent refunded = bought;
  refunded.stripe_event_id = "evt_refund";
  refunded.type = "charge.refunded";
  refunded.pack_id.clear();
  refunded.charge_id = "ch_1";
  refunded.charge_amount_minor = 900;
  refunded.charge_refunded_minor = 900;
  refunded.charge_fully_refunded = true;
  const Decision pending = run(refunded, t0_);
  EXPECT_EQ(pending.outcome.note, "pack_refund_pending");
  ASSERT_EQ(pending.events.size(), 1u);
  EXPECT_EQ(std::get<CreditsRevoked>(pending.events[0]).amount, 0);
  EXPECT_EQ(std::get<CreditsRevoked>(pending.events[0]).target, 1'000);

  // Released: the pack's 1000 come back and are taken at once; the free 300 stay.
  const Decision released = run(ReleaseReservation{"all"}, t0_ + kMinuteUs);
  ASSERT_TRUE(released.outcome.ok());
  ASSERT_EQ(released.events.size(), 2u);
  EXPECT_EQ(std::get<CreditsRevoked>(released.events[1]).amount, 1'000);
  EXPECT_EQ(state_.credits_available, 300);
  EXPECT_EQ(state_.credits_expired, 1'000);
  // Delivered again: nothing more.
  refunded.stripe_event_id = "evt_refund_again";
  EXPECT_EQ(run(refunded, t0_ + 2 * kMinuteUs).outcome.note, "nothing_unspent");
  EXPECT_EQ(state_.credits_available, 300);
  // An admin refund cannot take a pack's reference.
  EXPECT_EQ(run(RefundCredits{1, "x", "pack:pi_2"}, t0_).outcome.rejection,
            Rejection::kInvalidCommand);
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BucketsTest, EventsRecordedBeforeBucketsFoldIntoTheLegacyBucket) {
  const std::vector<EventBody> legacy = {
      AccountOpened{"free"},
      CreditsGranted{300, "free plan allowance", "plan_allowance", ""},
      CreditsGranted{100, "x", "admin", ""},
      CreditsReserved{"r", 50, "humanize", t0_ + kHourUs},
      ReservationCaptured{"r", 30, 20},
      CreditsExpired{10, "period reset"},
      CreditsRefunded{5, "sorry", "ticket-1"},
  };
  AccountState folded = empty_account("acct");
  for (const EventBody& event : legacy) {
    const std::string payload = encode_event_payload(event);
    EXPECT_EQ(payload.find("bucket_id"), std::string::npos) << payload;
    EXPECT_EQ(payload.find("draws"), std::string::npos) << payload;
    const auto decoded = decode_event(event_type_name(event), payload);
    ASSERT_TRUE(decoded.has_value()) << payload;
    ASSERT_TRUE(apply_event(folded, *decoded)) << payload;
    folded.version += 1;
  }
  ASSERT_EQ(folded.buckets.size(), 1u);
  const CreditBucket& bucket = folded.buckets.at(kLegacyBucketId);
  EXPECT_EQ(bucket.remaining, 365);
  EXPECT_EQ(bucket.source, kBucketLegacy);
  EXPECT_EQ(folded.reservations.at("r").draws, (std::vector<BucketDraw>{{"legacy", 50}}));

  // New commands on such an account: new buckets beside the legacy one.
  state_ = folded;
  EXPECT_EQ(run(GrantCredits{10, "new", "admin"}, t0_).outcome.bucket_id, "b1");
  const Decision reserved = run(ReserveCredits{370, "humanize", 600, "r2"}, t0_);
  ASSERT_TRUE(reserved.outcome.ok());
  EXPECT_EQ(*std::get<CreditsReserved>(reserved.events[0]).draws,
            (std::vector<BucketDraw>{{"legacy", 365}, {"b1", 5}}));
  EXPECT_TRUE(full_invariants_hold(state_));
}

TEST_F(BucketsTest, TamperedBucketFieldsDoNotFold) {
  ASSERT_TRUE(run(OpenAccount{}, t0_).outcome.ok());
  AccountState copy = state_;
  EXPECT_FALSE(apply_event(copy, CreditsGranted{5, "x", "admin", "", "b9", 0, 50}))
      << "a new bucket must be the next in sequence";
  copy = state_;
  EXPECT_FALSE(apply_event(copy, CreditsGranted{5, "x", "admin", "", "b1", 0, 50}))
      << "b1 has other terms";
  copy = state_;
  EXPECT_FALSE(apply_event(
      copy, CreditsReserved{"r", 400, "f", t0_ + kHourUs, std::vector<BucketDraw>{{"b1", 400}}}))
      << "more than the bucket holds";
  copy = state_;
  EXPECT_FALSE(apply_event(
      copy, CreditsReserved{"r", 10, "f", t0_ + kHourUs, std::vector<BucketDraw>{{"b1", 5}}}))
      << "draws that do not add up";
  copy = state_;
  EXPECT_FALSE(apply_event(copy, CreditsExpired{5, "x", "b7"})) << "no such bucket";
  EXPECT_EQ(decode_event("CreditsReserved", R"({"reservation_id":"r","amount":1,"feature":"f",)"
                                            R"("expires_at_us":1,"draws":{"b1":1}})"),
            std::nullopt);
  EXPECT_EQ(decode_event("CreditsExpired", R"({"amount":1,"reason":"x","bucket_id":""})"),
            std::nullopt);
}

TEST_F(BucketsTest, GrantsOpenAtMostTheBucketLimitAndSameTermsShareABucket) {
  ASSERT_TRUE(run(OpenAccount{}, t0_).outcome.ok());
  for (std::size_t i = 1; i < kBucketsPerAccountMax; ++i) {
    ASSERT_TRUE(run(GrantCredits{1, "x", "admin", t0_ + static_cast<int64_t>(i) * kHourUs, 50}, t0_)
                    .outcome.ok());
  }
  ASSERT_EQ(state_.buckets.size(), kBucketsPerAccountMax);
  EXPECT_EQ(run(GrantCredits{1, "x", "admin", t0_ + 1'000 * kHourUs, 50}, t0_).outcome.rejection,
            Rejection::kBucketLimit);
  const Decision same = run(GrantCredits{4, "x", "admin", t0_ + kHourUs, 50}, t0_);
  ASSERT_TRUE(same.outcome.ok());
  EXPECT_EQ(same.outcome.bucket_id, "b2");
  EXPECT_EQ(bucket("b2")->remaining, 5);
  EXPECT_EQ(run(GrantCredits{1, "x", "admin", t0_ - 1, 50}, t0_).outcome.rejection,
            Rejection::kInvalidCommand)
      << "an expiry in the past";
  EXPECT_EQ(run(GrantCredits{1, "x", "admin", 0, 101}, t0_).outcome.rejection,
            Rejection::kInvalidCommand);
}

TEST(FreePeriod, CalendarMonthsFromOpening) {
  const int64_t opened = at("2026-01-31T10:00:00Z");
  EXPECT_EQ(add_months_us(opened, 1), at("2026-02-28T10:00:00Z"));
  EXPECT_EQ(add_months_us(at("2028-01-31T00:00:00Z"), 1), at("2028-02-29T00:00:00Z"));
  EXPECT_EQ(add_months_us(opened, 12), at("2027-01-31T10:00:00Z"));
  const FreePeriod first = free_period_at(opened, opened);
  EXPECT_EQ(first.index, 0);
  const FreePeriod later = free_period_at(opened, at("2031-05-30T10:00:00Z"));
  EXPECT_EQ(later.index, 63);
  EXPECT_EQ(later.start_us, at("2031-04-30T10:00:00Z"));
  EXPECT_EQ(later.end_us, at("2031-05-31T10:00:00Z"));
}

// Through the committer and PostgreSQL.
class BucketsDbTest : public ::testing::Test {
 protected:
  std::unique_ptr<Committer> start(int64_t sweep_interval_ms) {
    CommitterOptions options;
    options.database_url = db_.url();
    options.sweep_interval_ms = sweep_interval_ms;
    return Committer::start(options, plans_);
  }
  int64_t count(const std::string& sql) {
    pqxx::read_transaction work(*connection_);
    return work.exec1(sql)[0].as<int64_t>();
  }
  void expect_verify_clean() {
    const auto report = audit::verify_ledger(*pg_);
    EXPECT_TRUE(report.clean) << report.problem << " at " << report.stream_id << "@"
                              << report.stream_version;
  }

  testing_support::TestDatabase db_;
  PlanCatalog plans_ = ledger_tests::shipped_plans();
  std::unique_ptr<pqxx::connection> connection_ = db_.connect();
  std::unique_ptr<pg::Connection> pg_ = db_.connect_pg();
};

TEST_F(BucketsDbTest, TheSweeperExpiresABucketExactlyOnce) {
  auto committer = start(100);
  const int64_t expires_at_us = unix_now_us() + 1'500'000;
  const Outcome granted =
      committer
          ->submit(ledger_tests::make_command(
              "swept", "g", GrantCredits{50, "flash sale", "promotional", expires_at_us, 50}))
          .get();
  ASSERT_TRUE(granted.ok());
  EXPECT_EQ(granted.credits_available, 350);
  const std::string expiries =
      "SELECT count(*) FROM ledger_events WHERE stream_id = 'swept'"
      " AND event_type = 'CreditsExpired'";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (count(expiries) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // several more sweeps
  committer->shutdown();
  EXPECT_EQ(count(expiries), 1);
  const auto view = projections::balances::read(*pg_, "swept");
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->credits_available, 300);
  EXPECT_EQ(view->credits_expired, 50);
  ASSERT_EQ(view->buckets.size(), 1u);
  EXPECT_EQ(view->buckets[0].source, kBucketPlanAllowance);
  // Next due: the free allowance, a calendar month (in UTC) after opening.
  EXPECT_EQ(count("SELECT count(*) FROM ledger_accounts WHERE account_id = 'swept' AND"
                  " credits_due_at = ((opened_at AT TIME ZONE 'UTC') + interval '1 month')"
                  " AT TIME ZONE 'UTC'"),
            1);
  expect_verify_clean();
  EXPECT_GT(audit::replay_projections(*pg_), 0);
  expect_verify_clean();
}

// Decides `command` at `now_us` as the committer would have then, appends its events and
// rebuilds the projections: an account with a past.
void append_decided(pg::Connection& connection, AccountState& state, const Command& command,
                    int64_t now_us, const PlanCatalog& plans) {
  const int64_t first_version = state.version + 1;
  const Decision decision = decide_and_apply(state, command, now_us, plans);
  ASSERT_TRUE(decision.outcome.ok());
  testing_support::append_decided_events(connection, state, decision.events, first_version, now_us);
  ASSERT_GT(audit::replay_projections(connection), 0);
}

TEST_F(BucketsDbTest, TheFreeRefreshIsGrantedOnceUnder32ConcurrentFirstRequests) {
  AccountState seeded = empty_account("monthly");
  append_decided(*pg_, seeded, ledger_tests::make_command("monthly", "open", OpenAccount{}),
                 unix_now_us() - 40 * kDayUs, plans_);
  // Two committers (as two ledgerd processes), no sweeper: the requests alone refresh.
  auto first = start(0);
  auto second = start(0);
  std::vector<std::future<Outcome>> outcomes;
  for (int i = 0; i < 32; ++i) {
    Committer& committer = i % 2 == 0 ? *first : *second;
    outcomes.push_back(committer.submit(ledger_tests::make_command(
        "monthly", "r" + std::to_string(i),
        ReserveCredits{5, "humanize", 600, "res-" + std::to_string(i)})));
  }
  for (auto& outcome : outcomes) EXPECT_TRUE(outcome.get().ok());
  first->shutdown();
  second->shutdown();
  EXPECT_EQ(count("SELECT count(*) FROM ledger_events WHERE stream_id = 'monthly'"
                  " AND event_type = 'CreditsGranted' AND payload->>'period_key' = 'free:1'"),
            1);
  const auto view = projections::balances::read(*pg_, "monthly");
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->credits_available, 300 - 32 * 5) << "the old month's 300 expired, once";
  EXPECT_EQ(view->credits_expired, 300);
  expect_verify_clean();
}

TEST_F(BucketsDbTest, ExpiryIsExactlyOnceUnderLoadAcrossARestartAndBalanceAsOfSeesIt) {
  auto sweeper_a = start(50);
  auto sweeper_b = start(50);
  const std::vector<std::string> accounts = {"load-1", "load-2", "load-3", "load-4"};
  const int64_t expires_at_us = unix_now_us() + 1'200'000;
  for (const std::string& account : accounts) {
    ASSERT_TRUE(
        sweeper_a
            ->submit(ledger_tests::make_command(
                account, "promo", GrantCredits{100'000, "flash", "promotional", expires_at_us, 50}))
            .get()
            .ok());
  }
  const int64_t before_expiry_us = unix_now_us();
  // Four callers spend on every account through both committers across the expiry.
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string& account = accounts[static_cast<std::size_t>(i + t) % accounts.size()];
        Committer& committer = (i + t) % 2 == 0 ? *sweeper_a : *sweeper_b;
        const std::string id = "c" + std::to_string(t) + "-" + std::to_string(i);
        try {
          const Outcome reserved = committer
                                       .submit(ledger_tests::make_command(
                                           account, id + "r", ReserveCredits{7, "detect", 600, id}))
                                       .get();
          if (reserved.ok()) {
            // Captured on the committer that is certainly up, so nothing stays reserved.
            ASSERT_TRUE(sweeper_b
                            ->submit(ledger_tests::make_command(account, id + "c",
                                                                CaptureReservation{id, 7}))
                            .get()
                            .ok());
          }
        } catch (const LedgerOverloaded&) {
          // The restarted committer refuses new work while it shuts down: nothing written.
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2'000));
  sweeper_a->shutdown();  // a restart: another committer takes over the sweeping
  auto sweeper_c = start(50);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  stop = true;
  for (auto& caller : callers) caller.join();
  sweeper_b->shutdown();
  sweeper_c->shutdown();
  for (const std::string& account : accounts) {
    EXPECT_EQ(count("SELECT count(*) FROM ledger_events WHERE stream_id = '" + account +
                    "' AND event_type = 'CreditsExpired' AND payload->>'bucket_id' = 'b2'"),
              1)
        << account;
    const auto folded = fold_stream(*pg_, account, std::numeric_limits<int64_t>::max());
    ASSERT_TRUE(folded.has_value());
    const auto as_before = fold_stream(*pg_, account, before_expiry_us);
    ASSERT_TRUE(as_before.has_value());
    EXPECT_EQ(as_before->credits_available + as_before->credits_reserved, 100'300)
        << "as of before the expiry: the promotion is there";
    EXPECT_EQ(as_before->credits_expired, 0);
    // What expired is what the promotion had left: granted = spent + expired + balance.
    EXPECT_EQ(folded->credits_expired,
              100'000 - (folded->credits_spent -
                         (300 - folded->credits_available - folded->credits_reserved)))
        << account;
    EXPECT_EQ(folded->buckets.count("b2"), 0u) << "nothing left of it";
    EXPECT_TRUE(full_invariants_hold(*folded));
  }
  expect_verify_clean();
}

// Migration 012 on rows written before buckets: its backfill equals the fold of the old
// events, so verify is clean and new commands continue from it.
TEST_F(BucketsDbTest, MigrationBackfillOfPreBucketRowsEqualsTheFold) {
  // Events as the previous version stored them (no bucket fields), appended with their chain.
  const std::vector<EventBody> legacy = {
      AccountOpened{"free"},
      CreditsGranted{300, "free plan allowance", "plan_allowance", ""},
      CreditsReserved{"r-old", 40, "humanize", unix_now_us() + kHourUs},
      CreditsReserved{"r-done", 10, "detect", unix_now_us() + kHourUs},
      ReservationCaptured{"r-done", 10, 0},
  };
  AccountState old = empty_account("old");
  const int64_t opened_us = unix_now_us() - 40 * kDayUs;  // its first month has passed
  testing_support::append_decided_events(*pg_, old, legacy, 1, opened_us);
  // Projections as the previous version wrote them: replay, then the columns back to the
  // defaults migration 012 adds them with, then 012's backfill.
  ASSERT_GT(audit::replay_projections(*pg_), 0);
  {
    pqxx::work work(*connection_);
    work.exec0(
        "UPDATE ledger_accounts SET buckets = '[]', buckets_created = 0,"
        " opened_at = NULL, allowance_until = NULL, credits_due_at = NULL");
    work.exec0("UPDATE ledger_reservations SET draws = '[]'");
    const Migration* buckets = nullptr;
    for (const Migration& migration : embedded_migrations()) {
      if (migration.version == 12) buckets = &migration;
    }
    ASSERT_NE(buckets, nullptr);
    std::string backfill = buckets->sql;
    backfill = backfill.substr(backfill.find("UPDATE ledger_accounts a SET"));
    backfill = backfill.substr(0, backfill.find("CREATE INDEX"));
    work.exec0(backfill);
    work.commit();
  }
  expect_verify_clean();
  // The free account's first month is over: its next command refreshes it, once; the open
  // reservation captures from the legacy bucket.
  auto committer = start(100);
  const std::string grants =
      "SELECT count(*) FROM ledger_events WHERE stream_id = 'old' AND event_type = "
      "'CreditsGranted'";
  const Outcome captured =
      committer->submit(ledger_tests::make_command("old", "cap", CaptureReservation{"r-old", 15}))
          .get();
  ASSERT_TRUE(captured.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  committer->shutdown();
  EXPECT_EQ(count(grants), 2) << "one refresh";
  const auto view = projections::balances::read(*pg_, "old");
  ASSERT_TRUE(view.has_value());
  // The legacy bucket keeps its 250 and gets the 25 released; the refresh adds 300.
  EXPECT_EQ(view->credits_available, 250 + 25 + 300);
  expect_verify_clean();
  EXPECT_GT(audit::replay_projections(*pg_), 0);
  expect_verify_clean();
}

}  // namespace
