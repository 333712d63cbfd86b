// projections/replay_lock.h
#include "projections/replay_lock.h"

namespace projections {

pg::Statement lock_against_appends() {
  return {"",
          "LOCK TABLE ledger_events, ledger_accounts, ledger_reservations, ledger_subscriptions,"
          " ledger_refund_references IN EXCLUSIVE MODE",
          {}};
}

}  // namespace projections
