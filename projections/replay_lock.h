// The lock a projection rebuild holds: EXCLUSIVE on the event log and every inline
// projection table, which blocks every committer's appends (ROW EXCLUSIVE) until the rebuild
// commits, while reads go on.
#pragma once

#include "ledger/pg.h"

namespace projections {

// To run first in the rebuild's transaction.
pg::Statement lock_against_appends();

}  // namespace projections
