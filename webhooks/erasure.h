// Erasure of personal data from the append-only inbox (README "Erasure"): which deliveries
// an erasure covers, deleting their keys (webhooks/delivery_body.h), and reading what the
// service holds about a subject (ledgerctl export-subject). The ledger records every erasure
// as PersonalDataErased before the keys are deleted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/pg.h"

namespace webhooks {

// (provider, delivery id)
using DeliveryRef = std::pair<std::string, std::string>;

// A shop's customer as a compliance request names them (Shopify: customer.id, email, phone).
struct CustomerRef {
  std::string id;
  std::string email;
  std::string phone;
};

// The customer a Shopify customers/* body names; empty fields when absent.
CustomerRef customer_of_request(std::string_view raw_body);

// True when the JSON `body` names the customer: an object under a "customer" key whose "id"
// is theirs (number or string), or any string equal to their e-mail (ignoring case) or
// phone. Unparseable bodies name no one.
bool names_customer(std::string_view body, const CustomerRef& customer);

struct ErasurePlan {
  std::vector<DeliveryRef> deliveries;  // sealed deliveries whose keys are still present
  int64_t plaintext = 0;  // deliveries stored before sealing: left to the retention prune
};

// The account's deliveries: those resolved to it, and those (e.g. parked, never applied)
// that carry one of its Stripe customer ids. At most `limit` (a larger erasure runs again).
inline constexpr int64_t kErasureDeliveriesMax = 10'000;
ErasurePlan plan_account_erasure(pg::Connection& connection, const std::string& account_id,
                                 int64_t limit = kErasureDeliveriesMax);
// The account's deliveries that name `customer` (each opened and searched).
ErasurePlan plan_customer_erasure(pg::Connection& connection, const std::string& account_id,
                                  const CustomerRef& customer,
                                  int64_t limit = kErasureDeliveriesMax);

// The statement that deletes the keys of `deliveries` (run it with the statement that
// settles the request, in one implicit transaction, or alone).
pg::Statement erase_statement(const std::vector<DeliveryRef>& deliveries);

// One delivery as export-subject shows it.
struct SubjectDelivery {
  std::string provider;
  std::string id;
  std::string type;
  int64_t received_at_us = 0;
  std::string status;
  bool sealed = false;
  std::optional<std::string> body;  // nullopt: erased
};
// A page of the account's deliveries (as plan_account_erasure chooses them) after `after`,
// in (provider, id) order.
std::vector<SubjectDelivery> read_subject_deliveries(pg::Connection& connection,
                                                     const std::string& account_id,
                                                     const DeliveryRef& after, int64_t limit);

}  // namespace webhooks
