// Subject export and account erasure (audit/subject.h).
#include "audit/subject.h"

#include <rapidjson/document.h>

#include <variant>

#include "ledger/events.h"
#include "ledger/json_fields.h"
#include "ledger/personal_data.h"
#include "ledger/store.h"
#include "ledger/time_format.h"
#include "webhooks/json_reader.h"

namespace audit {
namespace {

namespace json = ledger::json;

constexpr int64_t kPageSize = 200;

// A delivery body as JSON when it parses, else as a string.
void put_body(json::Writer& w, const std::string& body) {
  rapidjson::Document document;
  w.Key("body");
  if (webhooks::parse_bounded_json(body, document).empty()) {
    document.Accept(w);
  } else {
    w.String(body.data(), static_cast<rapidjson::SizeType>(body.size()));
  }
}

// Returns true when the export hit kSubjectExportItemsMax.
bool write_deliveries(json::Writer& w, pg::Connection& connection, const std::string& account_id,
                      const std::optional<webhooks::CustomerRef>& customer) {
  w.Key("deliveries");
  w.StartArray();
  webhooks::DeliveryRef after{"", ""};
  int64_t written = 0;
  for (;;) {
    const auto page = webhooks::read_subject_deliveries(connection, account_id, after, kPageSize);
    for (const webhooks::SubjectDelivery& delivery : page) {
      after = {delivery.provider, delivery.id};
      // A customer's export: the deliveries that name them (erased ones name no one now).
      if (customer && (!delivery.body || !webhooks::names_customer(*delivery.body, *customer))) {
        continue;
      }
      if (written == kSubjectExportItemsMax) {
        w.EndArray();
        return true;
      }
      ++written;
      w.StartObject();
      json::put(w, "provider", delivery.provider);
      json::put(w, "id", delivery.id);
      json::put(w, "type", delivery.type);
      json::put(w, "received_at", ledger::format_rfc3339(delivery.received_at_us));
      json::put(w, "status", delivery.status);
      json::put(w, "erased", !delivery.body.has_value());
      if (delivery.body) put_body(w, *delivery.body);
      w.EndObject();
    }
    if (static_cast<int64_t>(page.size()) < kPageSize) break;
  }
  w.EndArray();
  return false;
}

// The account's Churnkey answers and erasures, from its events. Returns true when truncated.
bool write_events(json::Writer& w, pg::Connection& connection, const std::string& account_id) {
  const std::optional<std::string> key = ledger::find_subject_key(connection, account_id);
  std::string sessions = "[";
  std::string erasures = "[";
  int64_t after = 0;
  int64_t read = 0;
  bool truncated = false;
  for (;;) {
    const auto events = ledger::read_stream(connection, account_id, after, kPageSize);
    for (const ledger::StoredEvent& stored : events) {
      after = stored.stream_version;
      if (++read > kSubjectExportItemsMax) {
        truncated = true;
        break;
      }
      const std::optional<ledger::EventBody> event =
          ledger::decode_event(stored.event_type, stored.payload);
      if (!event) continue;
      const auto common = [&](json::Writer& item) {
        json::put(item, "version", stored.stream_version);
        json::put(item, "recorded_at", ledger::format_rfc3339(stored.recorded_at_us));
      };
      if (const auto* session = std::get_if<ledger::ChurnkeySessionRecorded>(&*event)) {
        const auto survey = ledger::open_text(key, account_id, session->survey_response);
        const auto feedback = ledger::open_text(key, account_id, session->feedback);
        sessions += (sessions.size() > 1 ? "," : "") + json::object_text([&](json::Writer& item) {
                      common(item);
                      json::put(item, "result", session->result);
                      json::put(item, "erased", !survey || !feedback);
                      if (survey && feedback) {
                        json::put(item, "survey_response", *survey);
                        json::put(item, "feedback", *feedback);
                      }
                    });
      } else if (const auto* erased = std::get_if<ledger::PersonalDataErased>(&*event)) {
        erasures += (erasures.size() > 1 ? "," : "") + json::object_text([&](json::Writer& item) {
                      common(item);
                      json::put(item, "scope", erased->scope);
                      json::put(item, "customer_id", erased->customer_id);
                      json::put(item, "deliveries", erased->deliveries);
                      json::put(item, "requested_by", erased->requested_by);
                    });
      }
    }
    if (truncated || static_cast<int64_t>(events.size()) < kPageSize) break;
  }
  w.Key("churnkey_sessions");
  w.RawValue((sessions + "]").data(), sessions.size() + 1, rapidjson::kArrayType);
  w.Key("erasures");
  w.RawValue((erasures + "]").data(), erasures.size() + 1, rapidjson::kArrayType);
  return truncated;
}

}  // namespace

std::string export_subject(pg::Connection& connection, const std::string& account_id,
                           const std::optional<webhooks::CustomerRef>& customer) {
  return json::object_text([&](json::Writer& w) {
    json::put(w, "account_id", account_id);
    json::put(w, "generated_at", ledger::format_rfc3339(ledger::unix_now_us()));
    if (customer) {
      w.Key("customer");
      w.StartObject();
      json::put(w, "id", customer->id);
      json::put(w, "email", customer->email);
      json::put(w, "phone", customer->phone);
      w.EndObject();
    }
    bool truncated = write_deliveries(w, connection, account_id, customer);
    if (!customer) truncated = write_events(w, connection, account_id) || truncated;
    json::put(w, "truncated", truncated);
  });
}

AccountErasure erase_account(pg::Connection& connection, ledger::Committer& committer,
                             const std::string& account_id, const std::string& idempotency_key,
                             const std::string& requested_by) {
  AccountErasure result;
  const webhooks::ErasurePlan plan = webhooks::plan_account_erasure(connection, account_id);
  result.plaintext_left = plan.plaintext;
  result.more_left =
      static_cast<int64_t>(plan.deliveries.size()) >= webhooks::kErasureDeliveriesMax;
  ledger::EventMetadata metadata;
  metadata.actor = requested_by;
  metadata.source = requested_by;
  ledger::Command command{
      account_id, idempotency_key,
      ledger::ErasePersonalData{"account", "", static_cast<int64_t>(plan.deliveries.size()),
                                requested_by},
      std::move(metadata)};
  command.may_open_account = false;  // erasing never opens an account
  // Recorded first: an erasure that stops here is re-run by running the command again.
  result.outcome = committer.submit(std::move(command)).get();
  if (!result.outcome.ok()) return result;
  const std::vector<pg::Statement> statements = {webhooks::erase_statement(plan.deliveries),
                                                 ledger::erase_subject_key_statement(account_id)};
  const std::vector<pg::Result> done = connection.pipeline(statements);
  result.deliveries_erased = done[0].affected_rows();
  result.subject_key_erased = done[1].affected_rows() > 0;
  return result;
}

}  // namespace audit
