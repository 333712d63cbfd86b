// Reconciliation of Stripe billing with the ledger (`ledgerctl reconcile`): every paid
// invoice has exactly one allowance grant, and every Stripe grant traces back to a delivery.
//
//   - Forward: each processed invoice.paid delivery whose outcome was not "superseded" has
//     exactly one CreditsGranted (source "stripe", reason "plan allowance") with the
//     invoice's period key (ledger::invoice_period_key) in its account's stream.
//   - Reverse: each CreditsGranted with source "stripe" names (metadata causation_id) a
//     processed delivery of its own account whose type produces it: "plan allowance" from
//     checkout.session.completed, invoice.paid or customer.subscription.deleted, "plan
//     upgrade" from customer.subscription.updated. No period receives two allowance grants.
//     A grant recorded before the inbox's prune horizon (retention) needs no delivery.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/pg.h"

namespace audit {

struct ReconcileReport {
  bool clean = true;
  int64_t invoices_checked = 0;  // processed invoice.paid deliveries, not superseded
  int64_t invoices_erased = 0;   // such deliveries erased (README "Erasure"): not checked
  int64_t grants_checked = 0;    // CreditsGranted events with source "stripe"
  int64_t invoices_without_grant = 0;
  int64_t invoices_with_extra_grants = 0;
  int64_t grants_without_delivery = 0;  // or from a delivery that cannot produce them
  int64_t periods_granted_twice = 0;
  // The first mismatch found, in words; its account, and the Stripe event id or
  // "version N" of the grant. All empty when clean.
  std::string problem;
  std::string account_id;
  std::string reference;
};

// Checks both directions above over the whole ledger in one repeatable-read snapshot and
// counts every mismatch (the first is described). Read-only. Database errors propagate.
ReconcileReport reconcile_stripe(pg::Connection& connection);

}  // namespace audit
