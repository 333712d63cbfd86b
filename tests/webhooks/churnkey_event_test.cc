// Tests for webhooks/churnkey_event.h: the seed names and Churnkey's documented
// `{"event":"session",...}` shape; defensive reading; errors as values.
#include "webhooks/churnkey_event.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using webhooks::ChurnkeyEvent;
using webhooks::ChurnkeyEventKind;

ChurnkeyEvent parse_ok(std::string_view body) {
  webhooks::ChurnkeyEventParse parsed = webhooks::parse_churnkey_event(body);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << "unexpected parse error: " << *error;
    return {};
  }
  return std::get<ChurnkeyEvent>(std::move(parsed));
}

std::string parse_error(std::string_view body) {
  webhooks::ChurnkeyEventParse parsed = webhooks::parse_churnkey_event(body);
  if (const auto* error = std::get_if<std::string>(&parsed)) return *error;
  ADD_FAILURE() << "parsed but should not have: " << body;
  return "<parsed>";
}

// Churnkey's documented payload: the customer is the billing provider's up-to-date customer.
constexpr std::string_view kDocumentedCancel = R"({
  "event": "session",
  "data": {
    "customer": {"id": "cus_1", "object": "customer", "email": "a@example.com",
                 "metadata": {"account_id": "user_42"},
                 "subscriptions": {"data": [{"id": "sub_1", "object": "subscription"}]}},
    "session": {"_id": "ck_sess_1", "result": "cancel", "feedback": "too pricey",
                "surveyResponse": "Too Expensive", "mode": "LIVE",
                "acceptedOffer": null, "segment": {"name": "annual"}}
  }
})";

TEST(ChurnkeyEvent, DocumentedSessionShape) {
  const ChurnkeyEvent event = parse_ok(kDocumentedCancel);
  EXPECT_EQ(event.kind, ChurnkeyEventKind::kCancel);
  EXPECT_EQ(event.name, "session");
  EXPECT_EQ(event.customer_id, "cus_1");
  EXPECT_EQ(event.subscription_id, "sub_1");
  EXPECT_EQ(event.account_id, "user_42");
  EXPECT_EQ(event.session_id, "ck_sess_1");
  EXPECT_EQ(event.event_id, "");
  EXPECT_FALSE(event.test_mode);
}

TEST(ChurnkeyEvent, DocumentedResultsMapToKinds) {
  const std::pair<std::string_view, ChurnkeyEventKind> cases[] = {
      {"cancel", ChurnkeyEventKind::kCancel},
      {"pause", ChurnkeyEventKind::kPause},
      {"discount", ChurnkeyEventKind::kDiscount},
      {"abort", ChurnkeyEventKind::kAbort},
      {"PAUSE", ChurnkeyEventKind::kPause},
      {"trial_extension", ChurnkeyEventKind::kOther},
      {"", ChurnkeyEventKind::kOther},
  };
  for (const auto& [result, kind] : cases) {
    const std::string body = R"({"event":"session","data":{"session":{"result":")" +
                             std::string(result) +
                             R"(","mode":"TEST"},"customer":{"id":"cus_2"}}})";
    const ChurnkeyEvent event = parse_ok(body);
    EXPECT_EQ(event.kind, kind) << result;
    EXPECT_TRUE(event.test_mode);
    EXPECT_EQ(event.customer_id, "cus_2");
  }
}

TEST(ChurnkeyEvent, SeedCancellationAccepted) {
  const ChurnkeyEvent event = parse_ok(R"({"id": "ck_evt_9", "type": "cancellation.accepted",
    "data": {"customer_id": "cus_1", "subscription_id": "sub_1", "user_id": 42}})");
  EXPECT_EQ(event.kind, ChurnkeyEventKind::kCancel);
  EXPECT_EQ(event.name, "cancellation.accepted");
  EXPECT_EQ(event.customer_id, "cus_1");
  EXPECT_EQ(event.subscription_id, "sub_1");
  EXPECT_EQ(event.account_id, "42");
  EXPECT_EQ(event.event_id, "ck_evt_9");
}

TEST(ChurnkeyEvent, SeedAndDocumentedCancelsAgree) {
  const ChurnkeyEvent seed = parse_ok(R"({"type": "cancellation.accepted",
    "data": {"customer": {"id": "cus_1", "metadata": {"account_id": "user_42"}},
             "subscription": {"id": "sub_1"}}})");
  const ChurnkeyEvent documented = parse_ok(kDocumentedCancel);
  EXPECT_EQ(seed.kind, documented.kind);
  EXPECT_EQ(seed.customer_id, documented.customer_id);
  EXPECT_EQ(seed.subscription_id, documented.subscription_id);
  EXPECT_EQ(seed.account_id, documented.account_id);
}

TEST(ChurnkeyEvent, SeedOfferAcceptedUsesTheOfferType) {
  EXPECT_EQ(parse_ok(R"({"type":"offer.accepted","data":{"offer_type":"DISCOUNT"}})").kind,
            ChurnkeyEventKind::kDiscount);
  EXPECT_EQ(parse_ok(R"({"type":"offer.accepted","data":{"offer":{"type":"pause"}}})").kind,
            ChurnkeyEventKind::kPause);
  EXPECT_EQ(parse_ok(R"({"type":"offer.accepted",
                         "data":{"session":{"acceptedOffer":{"offerType":"DISCOUNT"}}}})")
                .kind,
            ChurnkeyEventKind::kDiscount);
  EXPECT_EQ(parse_ok(R"({"type":"offer.accepted","data":{}})").kind, ChurnkeyEventKind::kOther);
  // An offer never cancels, whatever its type says.
  EXPECT_EQ(parse_ok(R"({"type":"offer.accepted","data":{"offer_type":"PLAN_CHANGE"}})").kind,
            ChurnkeyEventKind::kOther);
  // Found by the churnkey_event fuzz target's property: these words made an offer a cancel.
  EXPECT_EQ(parse_ok(R"({"type":"offer.accepted","data":{"offer_type":"CANCEL"}})").kind,
            ChurnkeyEventKind::kOther);
  EXPECT_EQ(parse_ok(R"({"type":"offer.accepted","data":{"offerType":"abort"}})").kind,
            ChurnkeyEventKind::kOther);
}

TEST(ChurnkeyEvent, SeedSessionCompletedUsesTheResult) {
  const ChurnkeyEvent event = parse_ok(R"({"type":"session.completed",
    "data":{"result":"abort","customer":"cus_3","subscriptionId":"sub_3",
            "metadata":{"account_id":"user_3"}}})");
  EXPECT_EQ(event.kind, ChurnkeyEventKind::kAbort);
  EXPECT_EQ(event.customer_id, "cus_3");
  EXPECT_EQ(event.subscription_id, "sub_3");
  EXPECT_EQ(event.account_id, "user_3");
}

TEST(ChurnkeyEvent, UnknownEventNameIsOther) {
  const ChurnkeyEvent event =
      parse_ok(R"({"event":"customer.updated","data":{"session":{"result":"cancel"}}})");
  EXPECT_EQ(event.kind, ChurnkeyEventKind::kOther);
  EXPECT_STREQ(webhooks::to_string(event.kind), "other");
  EXPECT_STREQ(webhooks::to_string(ChurnkeyEventKind::kCancel), "cancel");
}

TEST(ChurnkeyEvent, UnexpectedOptionalTypesReadAsAbsent) {
  const ChurnkeyEvent event = parse_ok(R"({"event":"session","id":17,"data":{
    "customer": 5, "session": {"result": ["cancel"], "mode": true, "_id": {"x": 1}},
    "subscription": [1], "metadata": "none", "user_id": 7}})");
  EXPECT_EQ(event.kind, ChurnkeyEventKind::kOther);
  EXPECT_EQ(event.customer_id, "");
  EXPECT_EQ(event.subscription_id, "");
  EXPECT_EQ(event.account_id, "7");
  EXPECT_EQ(event.event_id, "17");
  EXPECT_EQ(event.session_id, "");
  EXPECT_FALSE(event.test_mode);
}

TEST(ChurnkeyEvent, RequiredShapeErrors) {
  EXPECT_EQ(parse_error(R"({"data":{}})"), "event or type: missing");
  EXPECT_EQ(parse_error(R"({"event":"","data":{}})"), "event or type: missing");
  EXPECT_EQ(parse_error(R"({"event":"session"})"), "data: missing");
  EXPECT_EQ(parse_error(R"({"event":"session","data":null})"), "data: missing");
  EXPECT_EQ(parse_error(R"({"event":"session","data":[]})"), "data: expected an object");
  EXPECT_EQ(parse_error(R"({"event":3,"data":{}})"), "event: expected a string");
  EXPECT_EQ(parse_error(R"({"event":"session","id":{},"data":{}})"),
            "id: expected a string or an integer");
  EXPECT_EQ(parse_error("[]"), "event: expected a JSON object");
}

TEST(ChurnkeyEvent, GarbageAndDeepNestingAreErrors) {
  for (const std::string body : {"", "{", "nope", "{\"event\":\"session\",\"data\":{}", "\xff"}) {
    EXPECT_NE(parse_error(body).find("invalid JSON"), std::string::npos) << body;
  }
  const std::string deep =
      R"({"event":"session","data":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(parse_error(deep), "JSON nests deeper than 64 levels");
}

}  // namespace
