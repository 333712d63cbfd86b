// Shopify webhooks and closed accounts, as pure decisions: every webhook is recorded; only
// app/uninstalled closes the account, once; a closed account refuses new reservations while
// its open ones still settle; both events round-trip through their stored encoding, and a
// second AccountClosed cannot follow the first in a fold.
#include <gtest/gtest.h>

#include "ledger/commands.h"
#include "ledger/events.h"
#include "tests/ledger/ledger_test_support.h"

namespace {

using namespace ledger;

class ShopifyRulesTest : public ::testing::Test {
 protected:
  Decision run(CommandBody body, const std::string& key) {
    return decide_and_apply(state_, {"shop:a.myshopify.com", key, std::move(body), {}}, now_us_,
                            plans_);
  }
  Decision webhook(const std::string& id, const std::string& topic) {
    return run(ShopifyWebhookEvent{id, "evt-" + id, topic, "548380009", ""}, "shopify:" + id);
  }

  PlanCatalog plans_ = ledger_tests::shipped_plans();
  AccountState state_ = empty_account("shop:a.myshopify.com");
  int64_t now_us_ = 1'000'000;
};

TEST_F(ShopifyRulesTest, UninstallClosesOnceAndOpenReservationsStillSettle) {
  ReserveCredits reserve{40, "shopify_app", 600, "r1"};
  ASSERT_TRUE(run(reserve, "k1").outcome.ok());
  const Decision closed = webhook("w1", "app/uninstalled");
  ASSERT_TRUE(closed.outcome.ok());
  EXPECT_EQ(closed.outcome.note, "closed");
  ASSERT_EQ(closed.events.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<AccountClosed>(closed.events[1]));
  EXPECT_TRUE(state_.closed);
  ReserveCredits again{1, "shopify_app", 600, "r2"};
  EXPECT_EQ(run(again, "k2").outcome.rejection, Rejection::kAccountClosed);
  EXPECT_EQ(rejection_code(Rejection::kAccountClosed), "account_closed");
  EXPECT_TRUE(run(CaptureReservation{"r1", 25}, "k3").outcome.ok());
  EXPECT_EQ(state_.credits_available, 275);
  const Decision second = webhook("w2", "app/uninstalled");
  EXPECT_EQ(second.outcome.note, "already_closed");
  EXPECT_EQ(second.events.size(), 1u);
}

TEST_F(ShopifyRulesTest, OtherTopicsAreRecordedOnly) {
  EXPECT_EQ(webhook("w1", "shop/update").outcome.note, "recorded");
  EXPECT_EQ(webhook("w2", "customers/data_request").outcome.note, "data_request_recorded");
  EXPECT_EQ(webhook("w3", "customers/redact").outcome.note, "erasure_requested");
  EXPECT_EQ(webhook("w4", "shop/redact").outcome.note, "erasure_requested");
  EXPECT_EQ(webhook("w5", "orders/create").outcome.note, "recorded");
  EXPECT_FALSE(state_.closed);
  EXPECT_EQ(webhook("", "shop/update").outcome.rejection, Rejection::kInvalidCommand);
}

TEST_F(ShopifyRulesTest, EventsRoundTripAndASecondCloseCannotFold) {
  const EventBody recorded =
      ShopifyWebhookRecorded{"w1", "evt-1", "customers/redact", "5", "207", "erasure_requested"};
  const auto decoded = decode_event(event_type_name(recorded), encode_event_payload(recorded));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(std::get<ShopifyWebhookRecorded>(*decoded).customer_id, "207");
  const EventBody closed = AccountClosed{"shopify app/uninstalled"};
  ASSERT_TRUE(decode_event("AccountClosed", encode_event_payload(closed)).has_value());
  AccountState fold = empty_account("shop:a.myshopify.com");
  ASSERT_TRUE(apply_event(fold, AccountOpened{"free"}));
  EXPECT_TRUE(apply_event(fold, closed));
  EXPECT_FALSE(apply_event(fold, closed)) << "a tampered log closing twice is refused";
}

}  // namespace

namespace {

// Erasure records: an account or a customer (by id, or unnamed when the request named them by
// e-mail or phone only); anything else is refused. The event round-trips and changes no
// balance.
TEST_F(ShopifyRulesTest, ErasuresAreRecordedForAnAccountOrACustomer) {
  ASSERT_TRUE(webhook("w0", "shop/update").outcome.ok());
  const int64_t available = state_.credits_available;
  for (const ErasePersonalData& erase :
       {ErasePersonalData{"account", "", 4, "ledgerctl"},
        ErasePersonalData{"customer", "207119551", 2, "shopify:w1"},
        ErasePersonalData{"customer", "", 1, "shopify:w2"}}) {
    const Decision d = run(erase, "erase:" + erase.requested_by);
    ASSERT_TRUE(d.outcome.ok()) << erase.scope << " " << erase.customer_id;
    EXPECT_EQ(d.outcome.note, "erased");
    ASSERT_EQ(d.events.size(), 1u);
    const auto back = decode_event("PersonalDataErased", encode_event_payload(d.events[0]));
    ASSERT_TRUE(back);
    EXPECT_EQ(std::get<PersonalDataErased>(*back).customer_id, erase.customer_id);
  }
  EXPECT_EQ(state_.credits_available, available);
  for (const ErasePersonalData& bad : {ErasePersonalData{"account", "207119551", 1, "ledgerctl"},
                                       ErasePersonalData{"shop", "", 1, "ledgerctl"},
                                       ErasePersonalData{"customer", "", -1, "ledgerctl"},
                                       ErasePersonalData{"account", "", 1, ""}}) {
    EXPECT_EQ(run(bad, "bad:" + bad.scope).outcome.rejection, Rejection::kInvalidCommand)
        << bad.scope << " " << bad.customer_id << " " << bad.deliveries;
  }
}

}  // namespace
