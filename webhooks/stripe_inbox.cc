// The Stripe webhook inbox and its retry loop (see stripe_inbox.h).
#include "webhooks/stripe_inbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <optional>

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

// At most kErrorTextBytesMax bytes, never cutting a UTF-8 sequence (PostgreSQL rejects one).
std::string bounded_error(std::string_view text) {
  if (text.size() <= kErrorTextBytesMax) return std::string(text);
  std::size_t end = kErrorTextBytesMax;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

// The account whose subscription projection names this subscription, else this customer.
std::string lookup_account(pqxx::connection& connection, const std::string& subscription_id,
                           const std::string& customer_id) {
  pqxx::read_transaction work(connection);
  const pqxx::result rows = work.exec_params(
      "SELECT account_id FROM ledger_subscriptions"
      " WHERE ($1 <> '' AND subscription_id = $1) OR ($2 <> '' AND customer_id = $2)"
      " ORDER BY (subscription_id = $1) DESC, updated_at DESC LIMIT 1",
      subscription_id, customer_id);
  work.commit();
  return rows.empty() ? std::string() : rows[0][0].as<std::string>();
}

// The links (subscription, customer) stored with a delivery; empty for unhandled types.
std::pair<std::string, std::string> links_of(const StripeEvent& event) {
  if (!is_handled_stripe_event_type(event.type)) return {};
  const StripeBillingMapping mapping = map_stripe_event(event);
  return {mapping.event.subscription_id, mapping.event.customer_id};
}

// Claims up to `limit` open deliveries due now, leasing them for `lease_ms`.
std::vector<std::string> claim_due(pqxx::connection& connection, std::size_t limit,
                                   int64_t lease_ms) {
  pqxx::work work(connection);
  const pqxx::result rows = work.exec_params(
      "UPDATE webhook_processing p"
      " SET next_attempt_at = clock_timestamp() + $2 * interval '1 millisecond'"
      " FROM (SELECT provider, provider_event_id FROM webhook_processing"
      "       WHERE provider = $1 AND status IN ('pending', 'parked')"
      "       AND next_attempt_at <= clock_timestamp()"
      "       ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due"
      " WHERE p.provider = due.provider AND p.provider_event_id = due.provider_event_id"
      " RETURNING p.provider_event_id",
      provider(), lease_ms, static_cast<int64_t>(limit));
  work.commit();
  std::vector<std::string> ids;
  for (const pqxx::row& row : rows) ids.push_back(row[0].as<std::string>());
  return ids;
}

}  // namespace

struct StripeInbox::Delivery {
  std::string event_id;
  std::string raw_body;
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

bool StripeInbox::store(pqxx::connection& connection, const StripeEvent& event,
                        std::string_view raw_body) const {
  assert(!event.id.empty() && !event.type.empty());
  const auto [subscription_id, customer_id] = links_of(event);
  pqxx::work work(connection);
  const pqxx::result inserted = work.exec_params(
      "INSERT INTO webhook_deliveries (provider, provider_event_id, event_type, raw_body)"
      " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
      provider(), event.id, event.type, pqxx::binarystring(std::string(raw_body)));
  if (inserted.empty()) return false;  // a duplicate: the transaction rolls back, unchanged
  // Leased from the start: the receiving request processes it; the loop only after a crash.
  work.exec_params(
      "INSERT INTO webhook_processing (provider, provider_event_id, status, next_attempt_at,"
      " subscription_id, customer_id)"
      " VALUES ($1, $2, 'pending', clock_timestamp() + $3 * interval '1 millisecond',"
      " NULLIF($4, ''), NULLIF($5, ''))",
      provider(), event.id, settings_.lease_ms, subscription_id, customer_id);
  work.commit();
  return true;
}

ProcessingResult StripeInbox::process(pqxx::connection& connection, const std::string& event_id,
                                      const std::string& correlation_id) const {
  std::string subscription_id;
  std::string customer_id;
  ProcessingResult result =
      process_claimed(connection, event_id, correlation_id, &subscription_id, &customer_id);
  if (result.status == ProcessingStatus::kProcessed) {
    retry_linked(connection, subscription_id, customer_id);
  }
  return result;
}

std::size_t StripeInbox::process_due(pqxx::connection& connection, std::size_t limit) const {
  const std::vector<std::string> ids = claim_due(connection, limit, settings_.lease_ms);
  for (const std::string& id : ids) {
    try {
      const ProcessingResult result = process(connection, id, "");
      spdlog::info("stripe delivery {} retried: {} {}", id, processing_status_name(result.status),
                   result.note);
    } catch (const pqxx::broken_connection&) {
      throw;  // the rest of the batch is retried after its lease, on a new connection
    } catch (const std::exception& failure) {
      spdlog::warn("stripe delivery {} not retried: {}", id, failure.what());
    }
  }
  return ids.size();
}

ProcessingResult StripeInbox::process_claimed(pqxx::connection& connection,
                                              const std::string& event_id,
                                              const std::string& correlation_id,
                                              std::string* subscription_id,
                                              std::string* customer_id) const {
  const std::optional<Delivery> delivery = load_delivery(connection, event_id);
  if (!delivery) return {ProcessingStatus::kFailed, "", "not_stored"};
  if (!is_open(delivery->status, delivery->note)) {
    return {delivery->status, delivery->account_id, delivery->note};
  }
  return apply(connection, *delivery, correlation_id, subscription_id, customer_id);
}

std::optional<StripeInbox::Delivery> StripeInbox::load_delivery(pqxx::connection& connection,
                                                                const std::string& event_id) {
  pqxx::read_transaction work(connection);
  const pqxx::result rows = work.exec_params(
      "SELECT d.raw_body, p.status, p.attempts, coalesce(p.account_id, ''), coalesce(p.note, '')"
      " FROM webhook_processing p JOIN webhook_deliveries d USING (provider, provider_event_id)"
      " WHERE p.provider = $1 AND p.provider_event_id = $2",
      provider(), event_id);
  work.commit();
  if (rows.empty()) return std::nullopt;
  StripeInbox::Delivery delivery;
  delivery.event_id = event_id;
  delivery.raw_body = pqxx::binarystring(rows[0][0]).str();
  const std::optional<ProcessingStatus> status = parse_status(rows[0][1].as<std::string>());
  assert(status.has_value());  // the table's CHECK constraint admits no other value
  delivery.status = status.value_or(ProcessingStatus::kFailed);
  delivery.attempts = rows[0][2].as<int>();
  delivery.account_id = rows[0][3].as<std::string>();
  delivery.note = rows[0][4].as<std::string>();
  return delivery;
}

ProcessingResult StripeInbox::record_attempt(pqxx::connection& connection,
                                             const std::string& event_id, int loaded_attempts,
                                             const Attempt& attempt) {
  pqxx::work work(connection);
  work.exec_params(
      std::string(
          "UPDATE webhook_processing SET status = $3, attempts = attempts + 1,"
          " account_id = NULLIF($4, ''), note = NULLIF($5, ''), last_error = NULLIF($6, ''),"
          " next_attempt_at = clock_timestamp() + $7 * interval '1 millisecond',"
          " updated_at = now()"
          " WHERE provider = $1 AND provider_event_id = $2 AND ") +
          std::string(kOpenDeliveryCondition) + " AND ($8 OR attempts = $9)",
      provider(), event_id, std::string(processing_status_name(attempt.status)), attempt.account_id,
      attempt.note, bounded_error(attempt.error), attempt.retry_in_ms, attempt.settled,
      loaded_attempts);
  work.commit();
  return {attempt.status, attempt.account_id, attempt.note};
}

ProcessingResult StripeInbox::apply(pqxx::connection& connection, const Delivery& delivery,
                                    const std::string& correlation_id, std::string* subscription_id,
                                    std::string* customer_id) const {
  const auto record = [&](const Attempt& attempt) {
    return record_attempt(connection, delivery.event_id, delivery.attempts, attempt);
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
  const std::string account_id =
      mapping.account_hint.empty()
          ? lookup_account(connection, mapping.event.subscription_id, mapping.event.customer_id)
          : mapping.account_hint;
  if (account_id.empty()) {
    if (attempt_number >= settings_.attempts_max) {
      return record({ProcessingStatus::kFailed, "", kAccountUnresolved,
                     "no account after the attempt limit", 0, false});
    }
    return record(
        {ProcessingStatus::kParked, "", kAccountUnresolved, "", backoff_ms(attempt_number), false});
  }
  mapping.event.plan_id = resolve_stripe_plan(mapping, plans_);
  if (!mapping.price_id.empty() && plans_.find_by_stripe_price(mapping.price_id) == nullptr) {
    // Usually a price created in Stripe but missing from the plans file.
    spdlog::warn("stripe event {}: price {} is sold by no plan; plan taken as '{}'", event.id,
                 mapping.price_id, mapping.event.plan_id);
  }
  const ProcessingStatus open_status = delivery.status == ProcessingStatus::kPending
                                           ? ProcessingStatus::kPending
                                           : ProcessingStatus::kParked;
  return record(
      submit(account_id, std::move(mapping.event), correlation_id, open_status, attempt_number));
}

StripeInbox::Attempt StripeInbox::submit(const std::string& account_id,
                                         ledger::StripeBillingEvent event,
                                         const std::string& correlation_id,
                                         ProcessingStatus open_status, int attempt_number) const {
  ledger::EventMetadata metadata;
  metadata.actor = "stripe";
  metadata.source = "stripe";
  metadata.correlation_id = correlation_id;
  metadata.causation_id = event.stripe_event_id;
  const std::string idempotency_key = "stripe:" + event.stripe_event_id;
  ledger::Command command{account_id, idempotency_key, std::move(event), std::move(metadata)};
  std::string error;
  try {
    std::future<ledger::Outcome> future = committer_.submit(std::move(command));
    if (future.wait_for(std::chrono::milliseconds(settings_.commit_timeout_ms)) ==
        std::future_status::ready) {
      const ledger::Outcome outcome = future.get();
      if (!outcome.ok()) {
        return {ProcessingStatus::kFailed,
                account_id,
                "rejected:" + std::string(ledger::rejection_code(outcome.rejection)),
                "the ledger rejected the billing event",
                0,
                true};
      }
      return {ProcessingStatus::kProcessed, account_id, outcome.note, "", 0, true};
    }
    error = "ledger commit timed out";
  } catch (const ledger::LedgerUnavailable& unavailable) {
    error = unavailable.what();
  } catch (const ledger::LedgerOverloaded& overloaded) {
    error = overloaded.what();
  }
  return {open_status, account_id, "ledger_unavailable", error, backoff_ms(attempt_number), false};
}

void StripeInbox::retry_linked(pqxx::connection& connection, const std::string& subscription_id,
                               const std::string& customer_id) const {
  if (subscription_id.empty() && customer_id.empty()) return;
  pqxx::result rows;
  {
    // Deliveries that failed only for want of an account come back too: never dropped.
    pqxx::work work(connection);
    rows = work.exec_params(
        "UPDATE webhook_processing p SET status = 'parked',"
        " next_attempt_at = clock_timestamp() + $4 * interval '1 millisecond', updated_at = now()"
        " FROM (SELECT provider, provider_event_id FROM webhook_processing"
        "       WHERE provider = $1"
        "       AND (status = 'parked' OR (status = 'failed' AND note = 'account_unresolved'))"
        "       AND (($2 <> '' AND subscription_id = $2) OR ($3 <> '' AND customer_id = $3))"
        "       ORDER BY updated_at LIMIT $5 FOR UPDATE SKIP LOCKED) linked"
        " WHERE p.provider = linked.provider AND p.provider_event_id = linked.provider_event_id"
        " RETURNING p.provider_event_id",
        provider(), subscription_id, customer_id, settings_.lease_ms,
        static_cast<int64_t>(settings_.linked_retry_max));
    work.commit();
  }
  for (const pqxx::row& row : rows) {
    const std::string id = row[0].as<std::string>();
    std::string ignored_subscription;
    std::string ignored_customer;
    try {
      const ProcessingResult result =
          process_claimed(connection, id, "", &ignored_subscription, &ignored_customer);
      spdlog::info("stripe delivery {} retried after a link: {} {}", id,
                   processing_status_name(result.status), result.note);
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& failure) {
      // Its lease runs out and the retry loop takes it.
      spdlog::warn("stripe delivery {} not retried after a link: {}", id, failure.what());
    }
  }
}

int64_t StripeInbox::backoff_ms(int attempt) const {
  assert(attempt >= 1);
  const int doublings = std::min(attempt - 1, 30);
  const int64_t delay_ms = settings_.retry_base_ms << doublings;
  return std::min(delay_ms > 0 ? delay_ms : settings_.retry_max_ms, settings_.retry_max_ms);
}

StripeInboxRetrier::StripeInboxRetrier(StripeInboxRetrierOptions options, const StripeInbox& inbox)
    : options_(std::move(options)),
      inbox_(inbox),
      task_("stripe inbox retry", options_.poll_interval_ms, [this] { run_once(); }) {
  assert(options_.poll_interval_ms > 0);
  assert(options_.batch_max >= 1);
}

StripeInboxRetrier::~StripeInboxRetrier() { stop(); }

void StripeInboxRetrier::run_once() {
  try {
    if (!connection_) {
      // No session state to lose: libpqxx 6 may reactivate this connection after a break.
      connection_ = std::make_unique<pqxx::connection>(options_.database_url);
    }
    // A full batch means more may be due: keep going (each pass is bounded by batch_max).
    while (inbox_.process_due(*connection_, options_.batch_max) == options_.batch_max) {
      if (task_.stop_requested()) return;
    }
  } catch (const pqxx::broken_connection& broken) {
    spdlog::warn("stripe inbox retry: database connection lost: {}", broken.what());
    connection_.reset();
  } catch (const std::exception& failure) {
    spdlog::warn("stripe inbox retry: {}", failure.what());
  }
}

}  // namespace webhooks
