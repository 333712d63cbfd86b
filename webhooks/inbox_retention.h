// Retention of the webhook inbox (webhook_processing and the append-only webhook_deliveries):
// a settled delivery (see kOpenDeliveryCondition: processed, ignored, or failed for a reason
// other than an unknown account) whose processing row was last updated before the window is
// pruned, its processing row first, then its raw delivery. Open deliveries (pending, parked,
// failed for want of an account) are never pruned, however old.
//
// webhook_deliveries stays protected by its trigger (schema/007_retention.sql): UPDATE and
// TRUNCATE are always refused, and DELETE only of a row received before the cutoff held in
// the transaction-local setting ledger.webhook_prune_before, which must itself lie at least
// one day in the past. Only this prune sets it (set_config(..., true): it ends with the
// transaction). A delivery whose processing row still exists cannot be deleted at all (its
// foreign key). Each pruning batch also advances retention_horizons('webhook_deliveries'),
// the instant before which deliveries may be missing.
#pragma once

#include <vector>

#include "ledger/retention.h"

namespace webhooks {

// The prune target of the inbox with a window of `retention_days` (0: kept forever),
// counted in deliveries.
ledger::PruneTarget inbox_prune_target(int retention_days);

// Every prune target of the service, in the order pruned: the ledger's
// (ledger::ledger_prune_targets), then the inbox's with settings.webhook_days.
std::vector<ledger::PruneTarget> service_prune_targets(const ledger::RetentionSettings& settings);

}  // namespace webhooks
