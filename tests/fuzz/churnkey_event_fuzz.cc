// Fuzz target: the Churnkey event parser (webhooks/churnkey_event.h).
//
// Input: a webhook body (already verified, as the parser receives it).
//
// Properties:
// - an error is a non-empty, valid UTF-8 description;
// - a parsed event has a name, and a kind other than kOther only for the names that carry
//   one (cancellation.accepted, offer.accepted, session, session.completed); an accepted
//   offer is a pause or a discount, never a cancellation;
// - every string the parser returns is storable text (valid UTF-8, no NUL);
// - the event written back in the seed shape parses to the same event.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "ledger/json_fields.h"
#include "tests/fuzz/fuzz_support.h"
#include "webhooks/churnkey_event.h"

namespace {

using fuzz::begin_object;
using ledger::json::put;
using namespace std::string_view_literals;  // put() of a const char* would write a bool
using webhooks::ChurnkeyEvent;
using webhooks::ChurnkeyEventKind;

bool names_a_kind(std::string_view name) {
  return name == "cancellation.accepted" || name == "offer.accepted" || name == "session" ||
         name == "session.completed";
}

// The kind of an offer comes from its offer type; a session's is written as its result.
std::string write_event(const ChurnkeyEvent& event) {
  const std::string_view kind = webhooks::to_string(event.kind);
  return fuzz::write_json([&](ledger::json::Writer& writer) {
    writer.StartObject();
    put(writer, "type", event.name);
    put(writer, "id", event.event_id);
    begin_object(writer, "data");
    put(writer, "customer", event.customer_id);
    put(writer, "subscription", event.subscription_id);
    put(writer, "offer_type", event.offer_type);
    begin_object(writer, "metadata");
    put(writer, "account_id", event.account_id);
    writer.EndObject();
    begin_object(writer, "session");
    put(writer, "_id", event.session_id);
    put(writer, "result", kind);
    put(writer, "mode", event.test_mode ? "TEST"sv : "LIVE"sv);
    put(writer, "surveyResponse", event.survey_response);
    put(writer, "feedback", event.feedback);
    writer.EndObject();
    writer.EndObject();
    writer.EndObject();
  });
}

void check_event(const ChurnkeyEvent& event) {
  FUZZ_REQUIRE(!event.name.empty());
  FUZZ_REQUIRE(event.kind == ChurnkeyEventKind::kOther || names_a_kind(event.name));
  if (event.name == "offer.accepted") {
    FUZZ_REQUIRE(event.kind == ChurnkeyEventKind::kPause ||
                 event.kind == ChurnkeyEventKind::kDiscount ||
                 event.kind == ChurnkeyEventKind::kOther);
  }
  for (const std::string_view text : {event.name, event.customer_id, event.subscription_id,
                                      event.account_id, event.event_id, event.session_id,
                                      event.offer_type, event.survey_response, event.feedback}) {
    FUZZ_REQUIRE(fuzz::is_storable_text(text));
  }
  const webhooks::ChurnkeyEventParse again = webhooks::parse_churnkey_event(write_event(event));
  FUZZ_REQUIRE(std::holds_alternative<ChurnkeyEvent>(again));
  FUZZ_REQUIRE(std::get<ChurnkeyEvent>(again) == event);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const webhooks::ChurnkeyEventParse parsed =
      webhooks::parse_churnkey_event(fuzz::as_text(data, size));
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    FUZZ_REQUIRE(!error->empty() && fuzz::is_valid_utf8(*error));
    return 0;
  }
  check_event(std::get<ChurnkeyEvent>(parsed));
  return 0;
}
