// projections/replay_lock.h
#include "projections/replay_lock.h"

namespace projections {

#define PROJECTION_TABLES                                                                 \
  "ledger_accounts, ledger_reservations, ledger_subscriptions, ledger_refund_references," \
  " ledger_usage_daily"

std::vector<pg::Statement> lock_for_rebuild() {
  return {{"", "LOCK TABLE " PROJECTION_TABLES " IN ACCESS EXCLUSIVE MODE", {}},
          {"", "LOCK TABLE ledger_events IN EXCLUSIVE MODE", {}}};
}

pg::Statement lock_for_snapshot_read() {
  return {"", "LOCK TABLE " PROJECTION_TABLES " IN ACCESS SHARE MODE", {}};
}

}  // namespace projections
