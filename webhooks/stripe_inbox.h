// The webhook inbox of Stripe, Churnkey and Shopify deliveries. Stripe: verified deliveries
// are stored raw (webhook_deliveries, append only; settled ones are pruned after a window,
// webhooks/inbox_retention.h) with a processing row (webhook_processing) in one
// transaction before the 2xx, then applied to
// the ledger through the committer as StripeBillingEvent commands (idempotency key
// "stripe:<event id>", so a delivery applies at most once however often it is run).
//
// Processing states: pending -> processed (the ledger's note: applied, superseded,
// period_already_granted) | ignored (a type or object we do not bill, or an event of the
// other Stripe mode: note livemode_mismatch) | parked (the account cannot be resolved yet:
// retried with exponential backoff) | failed (kept for operators: the ledger rejected it,
// or it stayed unresolvable for attempts_max attempts). A failure of
// the database or committer leaves the delivery in its state, due again after a backoff.
// When a delivery is applied, the deliveries parked for the same subscription or customer
// (and those that failed only for want of an account) are retried at once.
//
// The account of a delivery: what the event names itself (webhooks/stripe_billing.h), else
// the account whose subscription projection has the event's subscription id, else its
// customer id (projections::subscriptions::find_account).
//
// Churnkey deliveries (provider "churnkey", id: Churnkey's event id, else "sha256:" and the
// SHA-256 of the raw body) go the same way: stored raw before the 2xx, resolved to an
// account only through the subscription projection (their Stripe subscription or customer
// id; parked while unknown, and retried at once when a Stripe delivery links it), applied
// as ChurnkeySessionEvent commands (idempotency key "churnkey:<delivery id>").
//
// Shopify deliveries (provider "shopify", id: the X-Shopify-Webhook-Id) are stored with
// their headers and the shop's account ("shop:<myshopify domain>") and due at once: the
// request answers without processing, the retry loop applies them as ShopifyWebhookEvent
// commands (idempotency key "shopify:<webhook id>").
//
// Several processes may share the inbox: deliveries are claimed with a lease (FOR UPDATE
// SKIP LOCKED), and running one twice is harmless (idempotent commands, guarded updates).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ledger/committer.h"
#include "ledger/periodic_task.h"
#include "ledger/pg.h"
#include "ledger/plans.h"
#include "webhooks/churnkey_event.h"
#include "webhooks/shopify_event.h"
#include "webhooks/stripe_event.h"
#include "webhooks/stripe_mode.h"

namespace webhooks {

inline constexpr std::string_view kStripeProvider = "stripe";
inline constexpr std::string_view kChurnkeyProvider = "churnkey";
inline constexpr std::string_view kShopifyProvider = "shopify";

// The account of a Shopify shop: "shop:" and its myshopify domain.
inline std::string shop_account_id(std::string_view shop_domain) {
  return "shop:" + std::string(shop_domain);
}

// What identifies a Shopify delivery, from its (checked) headers.
struct ShopifyDelivery {
  std::string topic;        // X-Shopify-Topic
  std::string shop_domain;  // X-Shopify-Shop-Domain
  std::string webhook_id;   // X-Shopify-Webhook-Id: the delivery's id
  std::string event_id;     // X-Shopify-Event-Id ("" when absent)
};

enum class ProcessingStatus { kPending, kProcessed, kIgnored, kParked, kFailed };

// The SQL condition (on webhook_processing) of a delivery still open: pending, parked, or
// failed only for want of an account (a later link revives it). Every other delivery is
// settled: retries leave it alone and retention may prune it.
inline constexpr std::string_view kOpenDeliveryCondition =
    "(status IN ('pending', 'parked') OR (status = 'failed' AND note = 'account_unresolved'))";

// "pending", "processed", "ignored", "parked", "failed" (the webhook_processing values).
std::string_view processing_status_name(ProcessingStatus status);

struct StripeInboxSettings {
  int attempts_max = 12;          // Attempts before an unresolvable delivery is failed.
  int64_t retry_base_ms = 5'000;  // Backoff after attempt n: base * 2^(n-1), capped below.
  int64_t retry_max_ms = 3'600'000;
  // A delivery being processed is not claimed by another processor for this long; it is
  // also how soon a delivery whose processing died (crash) is retried.
  int64_t lease_ms = 60'000;
  // A command the committer has not decided this long after submission is dropped unwritten.
  int64_t commit_timeout_ms = 10'000;
  // Parked deliveries retried inline per link (bounds the webhook request; the retry loop
  // takes any others).
  std::size_t linked_retry_max = 10;
  // The mode billed in: an event whose `livemode` says otherwise is ignored with note
  // livemode_mismatch (webhooks/stripe_mode.h).
  StripeMode mode = StripeMode::kTest;
};

struct ProcessingResult {
  ProcessingStatus status = ProcessingStatus::kPending;
  std::string account_id;  // "" when not resolved
  std::string note;        // the ledger's note, or why ignored / parked / failed / pending
};

class StripeInbox {
 public:
  // `plans` and `committer` must outlive the inbox. Requires attempts_max >= 1 and
  // positive durations.
  StripeInbox(StripeInboxSettings settings, const ledger::PlanCatalog& plans,
              ledger::Committer& committer);

  // Stores the delivery of `event` (`raw_body`: the exact bytes received) and its pending
  // processing row in one transaction. Returns false, writing nothing, when a delivery with
  // this event id is already stored. Database errors propagate (nothing is stored then).
  bool store(pg::Connection& connection, const StripeEvent& event,
             std::string_view raw_body) const;
  // The same for a Shopify delivery (id: its webhook id; the shop's account and the headers
  // stored with it), due for the retry loop at once: the request does not process it.
  bool store_shopify(pg::Connection& connection, const ShopifyDelivery& delivery,
                     std::string_view raw_body) const;
  // The same for a Churnkey delivery: returns its delivery id, or nullopt for a duplicate.
  std::optional<std::string> store_churnkey(pg::Connection& connection, const ChurnkeyEvent& event,
                                            std::string_view raw_body) const;

  // Processes the stored delivery `event_id` once (see the states above), and when it is
  // applied, the deliveries parked for its subscription or customer. A delivery already
  // processed, ignored or failed is returned as it is. Database errors propagate; the
  // delivery is then retried after its lease. `correlation_id` goes into the events'
  // metadata (the request id of the delivery, or "" for retries).
  ProcessingResult process(pg::Connection& connection, const std::string& event_id,
                           const std::string& correlation_id) const;
  // The same for the stored Churnkey delivery `delivery_id`.
  ProcessingResult process_churnkey(pg::Connection& connection, const std::string& delivery_id,
                                    const std::string& correlation_id) const;

  // Claims up to `limit` due deliveries of both providers (pending or parked, next attempt reached) and
  // processes each. Returns how many were claimed. Database errors propagate.
  std::size_t process_due(pg::Connection& connection, std::size_t limit) const;

  const StripeInboxSettings& settings() const { return settings_; }

 private:
  struct Delivery;
  // What one attempt concluded. A settled outcome (the ledger's answer, or a property of the
  // event itself) is recorded unless another processor settled the delivery first; a soft
  // one (parked, failed for want of an account, ledger unavailable) only if nobody recorded
  // an attempt since this one loaded the row, so a stale view never undoes a settled one.
  struct Attempt {
    ProcessingStatus status = ProcessingStatus::kPending;
    std::string account_id;
    std::string note;
    std::string error;
    int64_t retry_in_ms = 0;
    bool settled = true;
  };
  bool store_delivery(pg::Connection& connection, const std::string& provider_name,
                      const std::string& id, const std::string& type, std::string_view raw_body,
                      const std::string& subscription_id, const std::string& customer_id,
                      const std::string& account_id = "", const std::string& headers_json = "",
                      std::optional<int64_t> due_in_ms = std::nullopt) const;
  static std::optional<Delivery> load_delivery(pg::Connection& connection,
                                               const std::string& provider_name,
                                               const std::string& event_id);
  static ProcessingResult record_attempt(pg::Connection& connection, const Delivery& delivery,
                                         const Attempt& attempt);
  // record_attempt's statement, for running it with another in one transaction.
  static pg::Statement attempt_statement(const Delivery& delivery, const Attempt& attempt);
  // A Shopify customers/redact or shop/redact request already recorded: the erasure event,
  // then the keys deleted and the request settled in one transaction.
  ProcessingResult erase_for_shopify(pg::Connection& connection, const Delivery& delivery,
                                     const std::string& topic) const;
  ProcessingResult process_delivery(pg::Connection& connection, const std::string& provider_name,
                                    const std::string& id, const std::string& correlation_id) const;
  ProcessingResult process_claimed(pg::Connection& connection, const std::string& provider_name,
                                   const std::string& event_id, const std::string& correlation_id,
                                   std::string* subscription_id, std::string* customer_id) const;
  ProcessingResult apply(pg::Connection& connection, const Delivery& delivery,
                         const std::string& correlation_id, std::string* subscription_id,
                         std::string* customer_id) const;
  ProcessingResult apply_churnkey(pg::Connection& connection, const Delivery& delivery,
                                  const std::string& correlation_id, std::string* subscription_id,
                                  std::string* customer_id) const;
  ProcessingResult apply_shopify(pg::Connection& connection, const Delivery& delivery) const;
  // Parked for a later attempt, or failed once attempts_max attempts found no account.
  Attempt unresolved(int attempt_number) const;
  // The status a delivery keeps when the ledger cannot take it now.
  static ProcessingStatus open_status_of(const Delivery& delivery);
  // Submits the delivery's command for `account_id` under the idempotency key
  // "<provider>:<delivery id><key_suffix>", with the provider as actor and source, and
  // concludes the attempt from the outcome (the committer refuses a command it could not
  // store as invalid_request: failed, like any rejection).
  Attempt submit(const Delivery& delivery, const std::string& account_id, ledger::CommandBody body,
                 const std::string& correlation_id, bool may_open_account,
                 const std::string& key_suffix = "") const;
  void retry_linked(pg::Connection& connection, const std::string& subscription_id,
                    const std::string& customer_id) const;
  int64_t backoff_ms(int attempt) const;

  const StripeInboxSettings settings_;
  const ledger::PlanCatalog& plans_;
  ledger::Committer& committer_;
};

struct StripeInboxRetrierOptions {
  std::string database_url;
  int64_t poll_interval_ms = 1'000;
  std::size_t batch_max = 50;
};

// The background loop of ledgerd that retries due deliveries (parked, or left pending by a
// failure) every poll interval, on its own connection.
class StripeInboxRetrier {
 public:
  // `inbox` must outlive the retrier.
  StripeInboxRetrier(StripeInboxRetrierOptions options, const StripeInbox& inbox);
  ~StripeInboxRetrier();
  StripeInboxRetrier(const StripeInboxRetrier&) = delete;
  StripeInboxRetrier& operator=(const StripeInboxRetrier&) = delete;

  void start() { task_.start(); }
  void stop() { task_.stop(); }  // Idempotent; waits for the delivery in progress.

 private:
  void run_once();

  const StripeInboxRetrierOptions options_;
  const StripeInbox& inbox_;
  pg::LazyConnection connection_;
  ledger::PeriodicTask task_;
};

}  // namespace webhooks
