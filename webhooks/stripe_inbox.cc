// The Stripe webhook inbox and its retry loop (see stripe_inbox.h).
#include "webhooks/stripe_inbox.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <optional>

#include "crypto/digest.h"
#include "ledger/backoff.h"
#include "ledger/lease_claim.h"
#include "ledger/personal_data.h"
#include "projections/refund_references.h"
#include "projections/subscriptions.h"
#include "unicode/utf8.h"
#include "webhooks/delivery_body.h"
#include "webhooks/erasure.h"
#include "webhooks/json_reader.h"
#include "webhooks/stripe_billing.h"

namespace webhooks {
namespace {

constexpr std::size_t kErrorTextBytesMax = 500;
constexpr const char* kAccountUnresolved = "account_unresolved";

const std::string& provider() {
  static const std::string kProvider(kStripeProvider);
  return kProvider;
}

std::optional<ProcessingStatus> parse_status(std::string_view name) {
  for (const ProcessingStatus status :
       {ProcessingStatus::kPending, ProcessingStatus::kProcessed, ProcessingStatus::kIgnored,
        ProcessingStatus::kParked, ProcessingStatus::kFailed}) {
    if (processing_status_name(status) == name) return status;
  }
  return std::nullopt;
}

// Pending and parked deliveries are open; so is one that failed only for want of an
// account (a later link revives it).
bool is_open(ProcessingStatus status, const std::string& note) {
  return status == ProcessingStatus::kPending || status == ProcessingStatus::kParked ||
         (status == ProcessingStatus::kFailed && note == kAccountUnresolved);
}

// At most kErrorTextBytesMax bytes of valid UTF-8 (PostgreSQL rejects anything else).
std::string bounded_error(std::string_view text) {
  return unicode::scrub_utf8(unicode::truncate_utf8(text, kErrorTextBytesMax));
}

// The links (subscription, customer) stored with a delivery; empty for unhandled types.
std::pair<std::string, std::string> links_of(const StripeEvent& event) {
  if (!is_handled_stripe_event_type(event.type)) return {};
  const StripeBillingMapping mapping = map_stripe_event(event);
  return {mapping.event.subscription_id, mapping.event.customer_id};
}

// (provider, delivery id) of a stored delivery.
using DeliveryKey = std::pair<std::string, std::string>;

// Claims up to `limit` open deliveries of every provider due now, leasing them for
// `lease_ms`.
std::vector<DeliveryKey> claim_due(pg::Connection& connection, std::size_t limit,
                                   int64_t lease_ms) {
  static const std::string kClaim =
      ledger::lease_claim_sql({.table = "webhook_processing",
                               .key_columns = "provider, provider_event_id",
                               .due = "provider IN ($1, $2, $5) AND status IN ('pending', 'parked')"
                                      " AND next_attempt_at <= clock_timestamp()",
                               .order_by = "next_attempt_at",
                               .limit = "$4",
                               .lease_ms = "$3",
                               .also_set = "",
                               .returning = "t.provider, t.provider_event_id"});
  const pg::Result rows =
      connection.exec({"inbox_claim_due",
                       kClaim,
                       {provider(), std::string(kChurnkeyProvider), std::to_string(lease_ms),
                        std::to_string(limit), std::string(kShopifyProvider)}});
  std::vector<DeliveryKey> keys;
  for (int i = 0; i < rows.rows(); ++i) keys.emplace_back(rows.string(i, 0), rows.string(i, 1));
  return keys;
}

constexpr std::size_t kDeliveryIdBytesMax = 128;
constexpr std::size_t kLinkBytesMax = 255;

// A provider id fit for a key, a log line and a header: short, printable ASCII, no spaces.
bool is_plain_id(std::string_view id, std::size_t bytes_max) {
  return !id.empty() && id.size() <= bytes_max &&
         std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

// The Churnkey delivery id: Churnkey's own event id when it is a plain id, else the SHA-256
// of the raw body.
std::string churnkey_delivery_id(const ChurnkeyEvent& event, std::string_view raw_body) {
  if (is_plain_id(event.event_id, kDeliveryIdBytesMax)) return event.event_id;
  return "sha256:" + crypto::hex_encode(crypto::sha256(raw_body));
}

// A subscription or customer id kept as a link only when it can be one (indexed columns).
std::string link_or_empty(const std::string& id) {
  return is_plain_id(id, kLinkBytesMax) ? id : std::string();
}

}  // namespace

struct StripeInbox::Delivery {
  std::string provider;
  std::string headers_json;  // the provider headers stored with it ("" none)
  std::string event_id;
  std::string raw_body;
  bool erased = false;  // its key is gone: the body cannot be read (raw_body empty)
  ProcessingStatus status = ProcessingStatus::kPending;
  int attempts = 0;
  std::string account_id;
  std::string note;
};

std::string_view processing_status_name(ProcessingStatus status) {
  switch (status) {
    case ProcessingStatus::kPending:
      return "pending";
    case ProcessingStatus::kProcessed:
      return "processed";
    case ProcessingStatus::kIgnored:
      return "ignored";
    case ProcessingStatus::kParked:
      return "parked";
    case ProcessingStatus::kFailed:
      return "failed";
  }
  return "pending";
}

StripeInbox::StripeInbox(StripeInboxSettings settings, const ledger::PlanCatalog& plans,
                         ledger::Committer& committer)
    : settings_(settings), plans_(plans), committer_(committer) {
  assert(settings_.attempts_max >= 1);
  assert(settings_.retry_base_ms > 0 && settings_.retry_max_ms >= settings_.retry_base_ms);
  assert(settings_.lease_ms > 0 && settings_.commit_timeout_ms > 0);
}

bool StripeInbox::store(pg::Connection& connection, const StripeEvent& event,
                        std::string_view raw_body) const {
  assert(!event.id.empty() && !event.type.empty());
  const auto [subscription_id, customer_id] = links_of(event);
  return store_delivery(connection, provider(), event.id, event.type, raw_body, subscription_id,
                        customer_id);
}

bool StripeInbox::store_shopify(pg::Connection& connection, const ShopifyDelivery& delivery,
                               std::string_view raw_body) const {
  assert(!delivery.webhook_id.empty() && !delivery.topic.empty() &&
         !delivery.shop_domain.empty());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [name, value] : {std::pair{"topic", &delivery.topic},
                                    {"shop_domain", &delivery.shop_domain},
                                    {"webhook_id", &delivery.webhook_id},
                                    {"event_id", &delivery.event_id}}) {
    writer.Key(name);
    writer.String(value->data(), static_cast<rapidjson::SizeType>(value->size()));
  }
  writer.EndObject();
  // Due at once: the retry loop applies it moments after the answer (Shopify wants one
  // within 5 s, so the request only stores).
  return store_delivery(connection, std::string(kShopifyProvider), delivery.webhook_id,
                        delivery.topic, raw_body, "", "", shop_account_id(delivery.shop_domain),
                        buffer.GetString(), 0);
}

std::optional<std::string> StripeInbox::store_churnkey(pg::Connection& connection,
                                                       const ChurnkeyEvent& event,
                                                       std::string_view raw_body) const {
  assert(!event.name.empty());
  std::string id = churnkey_delivery_id(event, raw_body);
  if (!store_delivery(connection, std::string(kChurnkeyProvider), id, event.name, raw_body,
                      link_or_empty(event.subscription_id), link_or_empty(event.customer_id))) {
    return std::nullopt;
  }
  return id;
}

bool StripeInbox::store_delivery(pg::Connection& connection, const std::string& provider_name,
                                 const std::string& id, const std::string& type,
                                 std::string_view raw_body, const std::string& subscription_id,
                                 const std::string& customer_id, const std::string& account_id,
                                 const std::string& headers_json,
                                 std::optional<int64_t> due_in_ms) const {
  // The body is stored sealed under a key of its own (erasure deletes the key).
  const SealedBody sealed = seal_body(provider_name, id, raw_body);
  // One statement: the key and the processing row exist exactly when the delivery row was
  // new. It is leased from the start: the receiving request processes it, the loop only
  // after a crash.
  const pg::Result inserted = connection.exec(
      {"inbox_store",
       "WITH delivery AS (INSERT INTO webhook_deliveries (provider, provider_event_id,"
       " event_type, raw_body, headers, sealed) VALUES ($1, $2, $3, decode($4, 'hex'),"
       " NULLIF($8, '')::json, true) ON CONFLICT DO NOTHING"
       " RETURNING provider, provider_event_id),"
       " body_key AS (INSERT INTO webhook_body_keys (provider, provider_event_id, secret)"
       " SELECT provider, provider_event_id, decode($10, 'hex') FROM delivery)"
       " INSERT INTO webhook_processing (provider, provider_event_id, status, next_attempt_at,"
       " subscription_id, customer_id, account_id)"
       " SELECT provider, provider_event_id, 'pending',"
       " clock_timestamp() + $5 * interval '1 millisecond', NULLIF($6, ''), NULLIF($7, ''),"
       " NULLIF($9, '') FROM delivery RETURNING 1",
       {provider_name, id, type, crypto::hex_encode(sealed.stored),
        std::to_string(due_in_ms.value_or(settings_.lease_ms)), subscription_id, customer_id,
        headers_json, account_id, crypto::hex_encode(sealed.key)}});
  return inserted.rows() == 1;  // none: a duplicate, nothing changed
}

ProcessingResult StripeInbox::process(pg::Connection& connection, const std::string& event_id,
                                      const std::string& correlation_id) const {
  return process_delivery(connection, provider(), event_id, correlation_id);
}

ProcessingResult StripeInbox::process_churnkey(pg::Connection& connection,
                                               const std::string& delivery_id,
                                               const std::string& correlation_id) const {
  return process_delivery(connection, std::string(kChurnkeyProvider), delivery_id,
                          correlation_id);
}

ProcessingResult StripeInbox::process_delivery(pg::Connection& connection,
                                               const std::string& provider_name,
                                               const std::string& id,
                                               const std::string& correlation_id) const {
  std::string subscription_id;
  std::string customer_id;
  ProcessingResult result = process_claimed(connection, provider_name, id, correlation_id,
                                            &subscription_id, &customer_id);
  if (result.status == ProcessingStatus::kProcessed) {
    retry_linked(connection, subscription_id, customer_id);
  }
  return result;
}

std::size_t StripeInbox::process_due(pg::Connection& connection, std::size_t limit) const {
  const std::vector<DeliveryKey> keys = claim_due(connection, limit, settings_.lease_ms);
  for (const auto& [provider_name, id] : keys) {
    try {
      const ProcessingResult result = process_delivery(connection, provider_name, id, "");
      spdlog::info("{} delivery {} retried: {} {}", provider_name, id,
                   processing_status_name(result.status), result.note);
    } catch (const pg::Error& error) {
      if (error.kind() == pg::ErrorKind::kConnection) throw;  // the rest: after their lease
      spdlog::warn("{} delivery {} not retried: {}", provider_name, id, error.what());
    } catch (const std::exception& failure) {
      spdlog::warn("{} delivery {} not retried: {}", provider_name, id, failure.what());
    }
  }
  return keys.size();
}

ProcessingResult StripeInbox::process_claimed(pg::Connection& connection,
                                              const std::string& provider_name,
                                              const std::string& event_id,
                                              const std::string& correlation_id,
                                              std::string* subscription_id,
                                              std::string* customer_id) const {
  const std::optional<Delivery> delivery = load_delivery(connection, provider_name, event_id);
  if (!delivery) return {ProcessingStatus::kFailed, "", "not_stored"};
  if (!is_open(delivery->status, delivery->note)) {
    return {delivery->status, delivery->account_id, delivery->note};
  }
  if (delivery->erased) {
    // Erased before it was applied (its account or shop was erased meanwhile).
    return record_attempt(connection, *delivery,
                          {ProcessingStatus::kIgnored, delivery->account_id, "erased", "", 0, true});
  }
  if (provider_name == kChurnkeyProvider) {
    return apply_churnkey(connection, *delivery, correlation_id, subscription_id, customer_id);
  }
  if (provider_name == kShopifyProvider) return apply_shopify(connection, *delivery);
  return apply(connection, *delivery, correlation_id, subscription_id, customer_id);
}

std::optional<StripeInbox::Delivery> StripeInbox::load_delivery(pg::Connection& connection,
                                                                const std::string& provider_name,
                                                                const std::string& event_id) {
  const pg::Result rows = connection.exec(
      {"inbox_load_delivery",
       std::string("SELECT p.status, p.attempts, coalesce(p.account_id, ''),"
                   " coalesce(p.note, ''), coalesce(d.headers::text, ''), ") +
           kBodyColumns +
           " FROM webhook_processing p JOIN webhook_deliveries d"
           " ON d.provider = p.provider AND d.provider_event_id = p.provider_event_id" +
           kBodyKeyJoin + " WHERE p.provider = $1 AND p.provider_event_id = $2",
       {provider_name, event_id}});
  if (rows.rows() == 0) return std::nullopt;
  StripeInbox::Delivery delivery;
  delivery.provider = provider_name;
  delivery.event_id = event_id;
  const std::optional<ProcessingStatus> status = parse_status(rows.text(0, 0));
  assert(status.has_value());  // the table's CHECK constraint admits no other value
  delivery.status = status.value_or(ProcessingStatus::kFailed);
  delivery.attempts = static_cast<int>(rows.int64(0, 1));
  delivery.account_id = rows.string(0, 2);
  delivery.note = rows.string(0, 3);
  delivery.headers_json = rows.string(0, 4);
  std::optional<std::string> body = open_stored_body(rows, 0, 5, provider_name, event_id);
  delivery.erased = !body.has_value();
  delivery.raw_body = std::move(body).value_or("");
  return delivery;
}

ProcessingResult StripeInbox::record_attempt(pg::Connection& connection,
                                             const Delivery& delivery, const Attempt& attempt) {
  connection.exec(attempt_statement(delivery, attempt));
  return {attempt.status, attempt.account_id, attempt.note};
}

pg::Statement StripeInbox::attempt_statement(const Delivery& delivery, const Attempt& attempt) {
  static const std::string sql =
      std::string(
          "UPDATE webhook_processing SET status = $3, attempts = attempts + 1,"
          " account_id = NULLIF($4, ''), note = NULLIF($5, ''), last_error = NULLIF($6, ''),"
          " next_attempt_at = clock_timestamp() + $7 * interval '1 millisecond',"
          " updated_at = now()"
          " WHERE provider = $1 AND provider_event_id = $2 AND ") +
          std::string(kOpenDeliveryCondition) + " AND ($8::bool OR attempts = $9::integer)";
  return {"inbox_record_attempt", sql,
          {delivery.provider, delivery.event_id,
           std::string(processing_status_name(attempt.status)), attempt.account_id, attempt.note,
           bounded_error(attempt.error), std::to_string(attempt.retry_in_ms),
           attempt.settled ? "true" : "false", std::to_string(delivery.attempts)}};
}

ProcessingResult StripeInbox::apply(pg::Connection& connection, const Delivery& delivery,
                                    const std::string& correlation_id, std::string* subscription_id,
                                    std::string* customer_id) const {
  const auto record = [&](const Attempt& attempt) {
    return record_attempt(connection, delivery, attempt);
  };
  const int attempt_number = delivery.attempts + 1;
  const StripeEventParse parsed = parse_stripe_event(delivery.raw_body);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    return record({ProcessingStatus::kFailed, "", "unparseable", *error, 0, true});
  }
  const StripeEvent& event = std::get<StripeEvent>(parsed);
  if (event.livemode != (settings_.mode == StripeMode::kLive)) {
    spdlog::warn("stripe event {} has livemode={} but ledgerd bills in {} mode: stored, ignored",
                 event.id, event.livemode, stripe_mode_name(settings_.mode));
    return record({ProcessingStatus::kIgnored, "", std::string(kLivemodeMismatchNote), "", 0, true});
  }
  if (!is_handled_stripe_event_type(event.type)) {
    return record({ProcessingStatus::kIgnored, "", "unhandled_type", "", 0, true});
  }
  StripeBillingMapping mapping = map_stripe_event(event);
  *subscription_id = mapping.event.subscription_id;
  *customer_id = mapping.event.customer_id;
  if (!mapping.ignore_reason.empty()) {
    return record(
        {ProcessingStatus::kIgnored, mapping.account_hint, mapping.ignore_reason, "", 0, true});
  }
  // Once an attempt named an account, later attempts keep it (its command may have committed).
  std::string account_id =
      !mapping.account_hint.empty() ? mapping.account_hint : delivery.account_id;
  if (event.charge) {
    // A refunded charge is the business of the account whose pack it paid for; a refund of a
    // pack whose grant is not in yet waits (parked) so that the grant cannot follow it.
    const std::string buyer = projections::refund_references::find_account(
        connection, ledger::pack_reference_key(mapping.event.payment_reference));
    if (!buyer.empty()) {
      account_id = buyer;
    } else if (!mapping.charge_pack_id.empty()) {
      return record(unresolved(attempt_number));
    }
  }
  if (account_id.empty()) {
    account_id = projections::subscriptions::find_account(connection, mapping.event.subscription_id,
                                                          mapping.event.customer_id);
  }
  if (account_id.empty()) return record(unresolved(attempt_number));
  if (!mapping.event.pack_id.empty()) {
    const ledger::Pack* pack = plans_.find_pack(mapping.event.pack_id);
    if (pack == nullptr) {
      // Paid for a pack the plans file no longer sells: kept for an operator, never lost.
      spdlog::error("stripe event {}: pack {} is not in the plans file", event.id,
                    mapping.event.pack_id);
      return record({ProcessingStatus::kFailed, account_id, "unknown_pack", "", 0, true});
    }
    mapping.event.pack_credits = pack->credits;
    mapping.event.pack_expires_after_days = pack->expires_after_days;
  }
  mapping.event.plan_id = resolve_stripe_plan(mapping, plans_);
  if (!mapping.price_id.empty() && plans_.find_by_stripe_price(mapping.price_id) == nullptr) {
    // Usually a price created in Stripe but missing from the plans file.
    spdlog::warn("stripe event {}: price {} is sold by no plan; plan taken as '{}'", event.id,
                 mapping.price_id, mapping.event.plan_id);
  }
  return record(submit(delivery, account_id, std::move(mapping.event), correlation_id, true));
}

ProcessingResult StripeInbox::apply_churnkey(pg::Connection& connection,
                                             const Delivery& delivery,
                                             const std::string& correlation_id,
                                             std::string* subscription_id,
                                             std::string* customer_id) const {
  const auto record = [&](const Attempt& attempt) {
    return record_attempt(connection, delivery, attempt);
  };
  const int attempt_number = delivery.attempts + 1;
  const ChurnkeyEventParse parsed = parse_churnkey_event(delivery.raw_body);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    return record({ProcessingStatus::kFailed, "", "unparseable", *error, 0, true});
  }
  const ChurnkeyEvent& event = std::get<ChurnkeyEvent>(parsed);
  *subscription_id = link_or_empty(event.subscription_id);
  *customer_id = link_or_empty(event.customer_id);
  // Only Stripe's ids name the account (through the subscription projection): an account id
  // in Churnkey's payload is whatever the page embedding Churnkey put there. Once an attempt
  // named an account, later attempts keep it (its command may have committed).
  const std::string account_id =
      !delivery.account_id.empty()
          ? delivery.account_id
          : projections::subscriptions::find_account(connection, *subscription_id, *customer_id);
  if (account_id.empty()) return record(unresolved(attempt_number));
  ledger::ChurnkeySessionEvent session;
  session.delivery_id = delivery.event_id;
  session.event_name = event.name;
  session.result = to_string(event.kind);
  session.session_id = event.session_id;
  session.offer_type = event.offer_type;
  // The customer's own words are personal: sealed under the account's key (erasable).
  if (!event.survey_response.empty() || !event.feedback.empty()) {
    const std::string key = ledger::subject_key(connection, account_id);
    session.survey_response = ledger::seal_text(
        key, account_id,
        unicode::truncate_utf8(event.survey_response, ledger::kChurnkeySurveyBytesMax));
    session.feedback = ledger::seal_text(
        key, account_id,
        unicode::truncate_utf8(event.feedback, ledger::kChurnkeyFeedbackBytesMax));
  }
  session.test_mode = event.test_mode;
  session.subscription_id = *subscription_id;
  return record(submit(delivery, account_id, std::move(session), correlation_id, false));
}

ProcessingResult StripeInbox::apply_shopify(pg::Connection& connection,
                                            const Delivery& delivery) const {
  const auto record = [&](const Attempt& attempt) {
    return record_attempt(connection, delivery, attempt);
  };
  rapidjson::Document headers;
  headers.Parse(delivery.headers_json.data(), delivery.headers_json.size());
  if (!headers.IsObject()) {
    return record({ProcessingStatus::kFailed, "", "no_headers", "stored without headers", 0, true});
  }
  JsonFieldReader fields(headers, "headers", JsonFieldReader::Mode::kLenient);
  const ShopifyEventParse parsed = parse_shopify_event(fields.string("topic"), delivery.raw_body);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    return record({ProcessingStatus::kFailed, "", "unparseable", *error, 0, true});
  }
  if (delivery.account_id.empty()) {
    return record({ProcessingStatus::kFailed, "", "no_shop", "stored without a shop", 0, true});
  }
  const ShopifyEvent& event = std::get<ShopifyEvent>(parsed);
  ledger::ShopifyWebhookEvent webhook{delivery.event_id, fields.string("event_id"), event.topic,
                                      event.shop_id, event.customer_id};
  const Attempt recorded = submit(delivery, delivery.account_id, std::move(webhook), "", true);
  if (recorded.status == ProcessingStatus::kProcessed &&
      (event.topic == "customers/redact" || event.topic == "shop/redact")) {
    return erase_for_shopify(connection, delivery, event.topic);
  }
  return record(recorded);
}

ProcessingResult StripeInbox::erase_for_shopify(pg::Connection& connection,
                                                const Delivery& delivery,
                                                const std::string& topic) const {
  const bool whole_shop = topic == "shop/redact";
  const CustomerRef customer = whole_shop ? CustomerRef{} : customer_of_request(delivery.raw_body);
  if (!whole_shop && customer.id.empty() && customer.email.empty() && customer.phone.empty()) {
    return record_attempt(connection, delivery,
                          {ProcessingStatus::kFailed, delivery.account_id, "no_customer",
                           "customers/redact names no customer", 0, true});
  }
  ErasurePlan plan = whole_shop
                         ? plan_account_erasure(connection, delivery.account_id)
                         : plan_customer_erasure(connection, delivery.account_id, customer);
  // The request itself names the customer; it is erased with the rest.
  const DeliveryRef self{delivery.provider, delivery.event_id};
  if (std::find(plan.deliveries.begin(), plan.deliveries.end(), self) == plan.deliveries.end()) {
    plan.deliveries.push_back(self);
  }
  ledger::ErasePersonalData erase{whole_shop ? "account" : "customer",
                                  whole_shop ? "" : customer.id,
                                  static_cast<int64_t>(plan.deliveries.size()),
                                  delivery.provider + ":" + delivery.event_id};
  const Attempt erased = submit(delivery, delivery.account_id, std::move(erase), "", false, ":erase");
  if (erased.status != ProcessingStatus::kProcessed) {
    return record_attempt(connection, delivery, erased);
  }
  // The event is recorded: delete the keys and settle the request together.
  std::vector<pg::Statement> statements = {
      erase_statement(plan.deliveries),
      attempt_statement(delivery, {ProcessingStatus::kProcessed, delivery.account_id, "erased",
                                   "", 0, true})};
  if (whole_shop) statements.push_back(ledger::erase_subject_key_statement(delivery.account_id));
  connection.pipeline(statements);
  spdlog::info("shopify {}: {} deliveries of {} erased", topic, plan.deliveries.size(),
               delivery.account_id);
  return {ProcessingStatus::kProcessed, delivery.account_id, "erased"};
}

StripeInbox::Attempt StripeInbox::unresolved(int attempt_number) const {
  if (attempt_number >= settings_.attempts_max) {
    return {ProcessingStatus::kFailed, "", kAccountUnresolved, "no account after the attempt limit",
            0, false};
  }
  return {ProcessingStatus::kParked, "", kAccountUnresolved, "", backoff_ms(attempt_number), false};
}

ProcessingStatus StripeInbox::open_status_of(const Delivery& delivery) {
  return delivery.status == ProcessingStatus::kPending ? ProcessingStatus::kPending
                                                       : ProcessingStatus::kParked;
}

StripeInbox::Attempt StripeInbox::submit(const Delivery& delivery, const std::string& account_id,
                                         ledger::CommandBody body,
                                         const std::string& correlation_id,
                                         bool may_open_account,
                                         const std::string& key_suffix) const {
  ledger::EventMetadata metadata;
  metadata.actor = delivery.provider;
  metadata.source = delivery.provider;
  metadata.correlation_id = correlation_id;
  metadata.causation_id = delivery.event_id;
  ledger::Command command{account_id, delivery.provider + ":" + delivery.event_id + key_suffix,
                          std::move(body), std::move(metadata)};
  command.may_open_account = may_open_account;
  const ProcessingStatus open_status = open_status_of(delivery);
  const int attempt_number = delivery.attempts + 1;
  std::string error;
  const auto deadline = ledger::Committer::Clock::now() +
                        std::chrono::milliseconds(settings_.commit_timeout_ms);
  try {
    // Waits for the outcome: the committer decides the command by the deadline or drops it.
    const ledger::Outcome outcome = committer_.submit(std::move(command), deadline).get();
    if (!outcome.ok()) {
      return {ProcessingStatus::kFailed,
              account_id,
              "rejected:" + std::string(ledger::rejection_code(outcome.rejection)),
              "the ledger rejected the billing event",
              0,
              true};
    }
    return {ProcessingStatus::kProcessed, account_id, outcome.note, "", 0, true};
  } catch (const ledger::LedgerUnavailable& unavailable) {
    error = unavailable.what();
  } catch (const ledger::LedgerOverloaded& overloaded) {
    error = overloaded.what();
  } catch (const ledger::LedgerDeadlineExceeded& late) {
    error = late.what();
  } catch (const ledger::LedgerOutcomeUnknown& unknown) {
    error = unknown.what();  // the retry finds the idempotency record if it committed
  }
  return {open_status, account_id, "ledger_unavailable", error, backoff_ms(attempt_number), false};
}

void StripeInbox::retry_linked(pg::Connection& connection, const std::string& subscription_id,
                               const std::string& customer_id) const {
  if (subscription_id.empty() && customer_id.empty()) return;
  // Deliveries that failed only for want of an account come back too: never dropped.
  static const std::string kRetryLinked = ledger::lease_claim_sql(
      {.table = "webhook_processing",
       .key_columns = "provider, provider_event_id",
       .due = "provider IN ($1, $6)"
              " AND (status = 'parked' OR (status = 'failed' AND note = 'account_unresolved'))"
              " AND (($2 <> '' AND subscription_id = $2) OR ($3 <> '' AND customer_id = $3))",
       .order_by = "updated_at",
       .limit = "$5",
       .lease_ms = "$4",
       .also_set = "status = 'parked', updated_at = now()",
       .returning = "t.provider, t.provider_event_id"});
  const pg::Result rows = connection.exec(
      {"inbox_retry_linked",
       kRetryLinked,
       {provider(), subscription_id, customer_id, std::to_string(settings_.lease_ms),
        std::to_string(settings_.linked_retry_max), std::string(kChurnkeyProvider)}});
  for (int i = 0; i < rows.rows(); ++i) {
    const std::string provider_name = rows.string(i, 0);
    const std::string id = rows.string(i, 1);
    std::string ignored_subscription;
    std::string ignored_customer;
    try {
      const ProcessingResult result = process_claimed(connection, provider_name, id, "",
                                                      &ignored_subscription, &ignored_customer);
      spdlog::info("{} delivery {} retried after a link: {} {}", provider_name, id,
                   processing_status_name(result.status), result.note);
    } catch (const pg::Error& error) {
      if (error.kind() == pg::ErrorKind::kConnection) throw;
      spdlog::warn("{} delivery {} not retried after a link: {}", provider_name, id, error.what());
    } catch (const std::exception& failure) {
      // Its lease runs out and the retry loop takes it.
      spdlog::warn("{} delivery {} not retried after a link: {}", provider_name, id,
                   failure.what());
    }
  }
}

int64_t StripeInbox::backoff_ms(int attempt) const {
  assert(attempt >= 1);
  return ledger::exponential_backoff(settings_.retry_base_ms, attempt - 1, settings_.retry_max_ms);
}

StripeInboxRetrier::StripeInboxRetrier(StripeInboxRetrierOptions options, const StripeInbox& inbox)
    : options_(std::move(options)),
      inbox_(inbox),
      connection_(pg::ConnectionOptions{options_.database_url}),
      task_("stripe inbox retry", options_.poll_interval_ms, [this] { run_once(); }) {
  assert(options_.poll_interval_ms > 0);
  assert(options_.batch_max >= 1);
}

StripeInboxRetrier::~StripeInboxRetrier() { stop(); }

void StripeInboxRetrier::run_once() {
  try {
    // A full batch means more may be due: keep going (each pass is bounded by batch_max).
    while (inbox_.process_due(connection_.get(), options_.batch_max) == options_.batch_max) {
      if (task_.stop_requested()) return;
    }
  } catch (const pg::Error& error) {
    spdlog::warn("stripe inbox retry: {}", error.what());
    if (error.kind() == pg::ErrorKind::kConnection) connection_.reset();
  } catch (const std::exception& failure) {
    spdlog::warn("stripe inbox retry: {}", failure.what());
  }
}

}  // namespace webhooks
