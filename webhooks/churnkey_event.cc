// Churnkey event parsing across the seed and documented shapes (see churnkey_event.h).
#include "webhooks/churnkey_event.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>

#include "webhooks/json_reader.h"

namespace webhooks {
namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// Maps a session result ("cancel", ...) or an offer type ("PAUSE", ...) to a kind.
ChurnkeyEventKind kind_from_word(std::string_view word) {
  if (equals_ignoring_case(word, "cancel")) return ChurnkeyEventKind::kCancel;
  if (equals_ignoring_case(word, "pause")) return ChurnkeyEventKind::kPause;
  if (equals_ignoring_case(word, "discount") || equals_ignoring_case(word, "coupon")) {
    return ChurnkeyEventKind::kDiscount;
  }
  if (equals_ignoring_case(word, "abort")) return ChurnkeyEventKind::kAbort;
  return ChurnkeyEventKind::kOther;
}

// The accepted offer's type, wherever either shape puts it.
std::string read_offer_type(JsonFieldReader& data) {
  return first_non_empty({
      data.string("offer_type"),
      data.string("offerType"),
      data.string("offer.type"),
      data.string("offer.offerType"),
      data.string("acceptedOffer.offerType"),
      data.string("session.acceptedOffer.offerType"),
  });
}

ChurnkeyEventKind read_kind(std::string_view name, std::string_view offer_type,
                            JsonFieldReader& data) {
  if (name == "cancellation.accepted") return ChurnkeyEventKind::kCancel;
  if (name == "offer.accepted") {
    const ChurnkeyEventKind offer = kind_from_word(offer_type);
    // An accepted offer keeps the customer: an offer type of "cancel" or "abort" is not one.
    const bool is_offer =
        offer == ChurnkeyEventKind::kPause || offer == ChurnkeyEventKind::kDiscount;
    return is_offer ? offer : ChurnkeyEventKind::kOther;
  }
  if (name == "session" || name == "session.completed") {
    return kind_from_word(first_non_empty({data.string("session.result"), data.string("result")}));
  }
  return ChurnkeyEventKind::kOther;
}

std::string read_customer_id(JsonFieldReader& data) {
  return first_non_empty({
      data.id("customer"),
      data.id_text("customer_id"),
      data.id_text("customerId"),
      data.id("session.customer"),
      data.id_text("session.customerId"),
      data.id_text("session.customer_id"),
  });
}

std::string read_subscription_id(JsonFieldReader& data) {
  return first_non_empty({
      data.id("subscription"),
      data.string("subscription_id"),
      data.string("subscriptionId"),
      data.string("customer.subscriptionId"),
      data.string("customer.subscription_id"),
      data.string("session.customer.subscriptionId"),
      data.string("session.subscriptionId"),
      data.string("session.subscription_id"),
      data.id("customer.subscriptions.data[0]"),
  });
}

std::string read_account_id(JsonFieldReader& data) {
  return first_non_empty({
      data.id_text("metadata.account_id"),
      data.id_text("customer.metadata.account_id"),
      data.id_text("session.customer.metadata.account_id"),
      data.id_text("account_id"),
      data.id_text("user_id"),
      data.id_text("userId"),
      data.id_text("user.id"),
  });
}

}  // namespace

const char* to_string(ChurnkeyEventKind kind) {
  switch (kind) {
    case ChurnkeyEventKind::kCancel:
      return "cancel";
    case ChurnkeyEventKind::kPause:
      return "pause";
    case ChurnkeyEventKind::kDiscount:
      return "discount";
    case ChurnkeyEventKind::kAbort:
      return "abort";
    case ChurnkeyEventKind::kOther:
      return "other";
  }
  return "other";
}

ChurnkeyEventParse parse_churnkey_event(std::string_view raw_body) {
  rapidjson::Document document;
  if (std::string error = parse_bounded_json(raw_body, document); !error.empty()) return error;
  if (!document.IsObject()) return std::string("event: expected a JSON object");

  JsonFieldReader top(document, "");
  ChurnkeyEvent event;
  event.name = first_non_empty({top.string("event"), top.string("type")});
  const rapidjson::Value* data_object = top.object("data");
  event.event_id = top.id_text("id");
  if (!top.ok()) return top.error();
  if (event.name.empty()) return std::string("event or type: missing");
  if (data_object == nullptr) return std::string("data: missing");

  // Lenient: Churnkey's payload is loosely specified, so unexpected types read as absent.
  JsonFieldReader data(*data_object, "data", JsonFieldReader::Mode::kLenient);
  event.offer_type = read_offer_type(data);
  event.kind = read_kind(event.name, event.offer_type, data);
  event.customer_id = read_customer_id(data);
  event.subscription_id = read_subscription_id(data);
  event.account_id = read_account_id(data);
  event.session_id = first_non_empty({data.id_text("session._id"), data.id_text("session.id")});
  event.survey_response = first_non_empty({data.string("session.surveyResponse"),
                                           data.string("surveyResponse"),
                                           data.string("survey_response")});
  event.feedback = first_non_empty(
      {data.string("session.feedback"), data.string("feedback")});
  event.test_mode = equals_ignoring_case(data.string("session.mode"), "TEST") ||
                    equals_ignoring_case(data.string("mode"), "TEST");
  return event;
}

}  // namespace webhooks
