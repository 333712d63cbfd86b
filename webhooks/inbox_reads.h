// Named reads of the webhook inbox (webhook_deliveries, webhook_processing, and the horizon
// before which pruned deliveries may be missing): the Stripe deliveries reconciliation
// checks, and the address an outbox e-mail goes to. Each is one statement; a caller that
// needs one snapshot runs them inside its own transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ledger/pg.h"

namespace webhooks {

struct StoredDelivery {
  std::string event_id;
  std::string event_type;
  std::string account_id;  // "" when the delivery never resolved to an account
  std::string raw_body;    // read_applied_invoices only: the opened body ("" when erased)
  bool erased = false;     // read_applied_invoices only: its key was deleted (README "Erasure")
};

// Processed Stripe deliveries with event id > `after`, in event id order, at most `limit`.
std::vector<StoredDelivery> read_processed(pg::Connection& connection, const std::string& after,
                                           int64_t limit);

// Processed invoice.paid deliveries that were applied (not superseded), with their bodies.
std::vector<StoredDelivery> read_applied_invoices(pg::Connection& connection,
                                                  const std::string& after, int64_t limit);

// The instant (microseconds since the epoch) before which settled deliveries may have been
// pruned (webhooks/inbox_retention.h), or nullopt when none ever was.
std::optional<int64_t> read_deliveries_pruned_before_us(pg::Connection& connection);

// The newest e-mail address the account's (not erased) deliveries give (Stripe: an
// invoice's `customer_email`, a Checkout Session's `customer_details.email`; Shopify: the
// shop object's `email`, else `customer_email`, of shop/update and app/uninstalled) that
// `usable` accepts, looking at its latest `kCustomerEmailDeliveriesMax` such deliveries;
// nullopt when none does.
inline constexpr int64_t kCustomerEmailDeliveriesMax = 20;
std::optional<std::string> read_customer_email(
    pg::Connection& connection, const std::string& account_id,
    const std::function<bool(std::string_view)>& usable);

// True when both immutability triggers of webhook_deliveries exist and are enabled.
bool deliveries_guarded(pg::Connection& connection);

}  // namespace webhooks
