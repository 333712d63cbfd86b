// Erasure of personal data from the inbox (webhooks/erasure.h).
#include "webhooks/erasure.h"

#include <algorithm>
#include <cassert>
#include <cctype>

#include "ledger/sql_text.h"
#include "webhooks/delivery_body.h"
#include "webhooks/json_reader.h"

namespace webhooks {
namespace {

constexpr int64_t kPageSize = 200;

// The deliveries of an account, paged by (provider, id): the shared FROM/WHERE of the reads.
constexpr const char* kAccountDeliveries =
    " FROM webhook_processing p JOIN webhook_deliveries d"
    " ON d.provider = p.provider AND d.provider_event_id = p.provider_event_id"
    " LEFT JOIN webhook_body_keys k ON k.provider = d.provider"
    " AND k.provider_event_id = d.provider_event_id"
    " WHERE (p.account_id = $1 OR p.customer_id IN (SELECT customer_id FROM webhook_processing"
    "        WHERE account_id = $1 AND customer_id IS NOT NULL))"
    " AND (p.provider, p.provider_event_id) > ($2, $3)"
    " ORDER BY p.provider, p.provider_event_id LIMIT $4";

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string id_text(const rapidjson::Value& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  if (value.IsInt64()) return std::to_string(value.GetInt64());
  if (value.IsUint64()) return std::to_string(value.GetUint64());
  return "";
}

// Depth is bounded by parse_bounded_json.
bool mentions(const rapidjson::Value& value, const CustomerRef& customer) {
  if (value.IsString()) {
    const std::string_view text(value.GetString(), value.GetStringLength());
    return (!customer.email.empty() && equal_ignoring_case(text, customer.email)) ||
           (!customer.phone.empty() && text == customer.phone);
  }
  if (value.IsArray()) {
    for (const auto& item : value.GetArray()) {
      if (mentions(item, customer)) return true;
    }
    return false;
  }
  if (!value.IsObject()) return false;
  for (const auto& member : value.GetObject()) {
    const std::string_view key(member.name.GetString(), member.name.GetStringLength());
    if (key == "customer" && member.value.IsObject() && !customer.id.empty()) {
      const auto id = member.value.FindMember("id");
      if (id != member.value.MemberEnd() && id_text(id->value) == customer.id) return true;
    }
    if (mentions(member.value, customer)) return true;
  }
  return false;
}

pg::Result read_page(pg::Connection& connection, const std::string& account_id,
                     const DeliveryRef& after, int64_t limit) {
  return connection.exec(
      {"erasure_account_deliveries",
       std::string("SELECT d.provider, d.provider_event_id, d.event_type,"
                   " (extract(epoch from d.received_at) * 1000000)::bigint, p.status, ") +
           kBodyColumns + kAccountDeliveries,
       {account_id, after.first, after.second, std::to_string(limit)}});
}

// Pages through the account's deliveries; `take` decides each sealed, unerased one.
template <class Take>
ErasurePlan plan(pg::Connection& connection, const std::string& account_id, int64_t limit,
                 Take take) {
  assert(limit > 0);
  ErasurePlan result;
  DeliveryRef after{"", ""};
  for (;;) {
    const pg::Result rows = read_page(connection, account_id, after, kPageSize);
    for (int i = 0; i < rows.rows(); ++i) {
      after = {rows.string(i, 0), rows.string(i, 1)};
      if (!rows.boolean(i, 6)) {
        ++result.plaintext;
      } else if (!rows.is_null(i, 7) &&
                 take(open_stored_body(rows, i, 5, after.first, after.second))) {
        result.deliveries.push_back(after);
        if (static_cast<int64_t>(result.deliveries.size()) >= limit) return result;
      }
    }
    if (rows.rows() < kPageSize) return result;
  }
}

}  // namespace

CustomerRef customer_of_request(std::string_view raw_body) {
  rapidjson::Document document;
  if (!parse_bounded_json(raw_body, document).empty() || !document.IsObject()) return {};
  JsonFieldReader fields(document, "body", JsonFieldReader::Mode::kLenient);
  return {fields.id_text("customer.id"), fields.string("customer.email"),
          fields.string("customer.phone")};
}

bool names_customer(std::string_view body, const CustomerRef& customer) {
  if (customer.id.empty() && customer.email.empty() && customer.phone.empty()) return false;
  rapidjson::Document document;
  if (!parse_bounded_json(body, document).empty()) return false;
  return mentions(document, customer);
}

ErasurePlan plan_account_erasure(pg::Connection& connection, const std::string& account_id,
                                 int64_t limit) {
  return plan(connection, account_id, limit,
              [](const std::optional<std::string>&) { return true; });
}

ErasurePlan plan_customer_erasure(pg::Connection& connection, const std::string& account_id,
                                  const CustomerRef& customer, int64_t limit) {
  return plan(connection, account_id, limit, [&customer](const std::optional<std::string>& body) {
    return body && names_customer(*body, customer);
  });
}

pg::Statement erase_statement(const std::vector<DeliveryRef>& deliveries) {
  std::vector<std::string> providers;
  std::vector<std::string> ids;
  for (const auto& [provider, id] : deliveries) {
    providers.push_back(provider);
    ids.push_back(id);
  }
  return {"erasure_delete_keys",
          "DELETE FROM webhook_body_keys k"
          " USING unnest($1::text[], $2::text[]) AS e(provider, provider_event_id)"
          " WHERE k.provider = e.provider AND k.provider_event_id = e.provider_event_id",
          {ledger::sql::text_array(providers), ledger::sql::text_array(ids)}};
}

std::vector<SubjectDelivery> read_subject_deliveries(pg::Connection& connection,
                                                     const std::string& account_id,
                                                     const DeliveryRef& after, int64_t limit) {
  const pg::Result rows = read_page(connection, account_id, after, limit);
  std::vector<SubjectDelivery> deliveries;
  for (int i = 0; i < rows.rows(); ++i) {
    SubjectDelivery delivery{rows.string(i, 0), rows.string(i, 1), rows.string(i, 2),
                             rows.int64(i, 3),  rows.string(i, 4), rows.boolean(i, 6),
                             std::nullopt};
    delivery.body = open_stored_body(rows, i, 5, delivery.provider, delivery.id);
    deliveries.push_back(std::move(delivery));
  }
  return deliveries;
}

}  // namespace webhooks
