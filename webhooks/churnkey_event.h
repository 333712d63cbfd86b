// Churnkey event parsing: turns a raw (already verified) Churnkey webhook body into one
// normalized ChurnkeyEvent. Accepts the seed names (`{"type":"cancellation.accepted" |
// "offer.accepted" | "session.completed", "data":{...}}`) and Churnkey's documented shape
// (`{"event":"session","data":{"session":{"result":...},"customer":{...}}}`). Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace webhooks {

// What the customer ended up doing in the Churnkey flow.
enum class ChurnkeyEventKind { kCancel, kPause, kDiscount, kAbort, kOther };

// Returns "cancel", "pause", "discount", "abort" or "other". Never returns nullptr.
const char* to_string(ChurnkeyEventKind kind);

// Fields are empty when the body does not carry them.
struct ChurnkeyEvent {
  ChurnkeyEventKind kind = ChurnkeyEventKind::kOther;
  std::string name;             // `event` or `type`, as sent.
  std::string customer_id;      // Billing provider (Stripe) customer id.
  std::string subscription_id;  // Billing provider (Stripe) subscription id.
  std::string account_id;       // Our account id (metadata.account_id or a user id).
  std::string event_id;         // Top-level `id` (string or integer).
  std::string session_id;       // Churnkey's session id (`data.session._id` or `.id`).
  std::string offer_type;       // The accepted offer's type as sent ("" none).
  std::string survey_response;  // The cancel survey's answer ("" none).
  std::string feedback;         // The customer's free text, as sent ("" none).
  bool test_mode = false;       // Churnkey billing mode "TEST": must not touch live billing.

  bool operator==(const ChurnkeyEvent&) const = default;
};

// A parsed event, or a description of why the body is not a usable Churnkey event.
using ChurnkeyEventParse = std::variant<ChurnkeyEvent, std::string>;

// Parses `raw_body`. Requires a JSON object (within the limits of json_reader.h) with a
// non-empty string `event` or `type` and an object `data`; returns an error string otherwise.
// Everything else is optional and read defensively from the places either shape puts it: a
// field of an unexpected type reads as absent. The kind is kCancel for
// "cancellation.accepted"; for "offer.accepted", the accepted offer's type (PAUSE, DISCOUNT
// or COUPON); for "session"/"session.completed", the session's `result`. Never throws.
ChurnkeyEventParse parse_churnkey_event(std::string_view raw_body);

}  // namespace webhooks
