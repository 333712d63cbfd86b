// The locks of a projection rebuild (replay) and of a reader that needs the projections
// whole in one snapshot (verify).
//
// A rebuild empties every projection table with TRUNCATE and rewrites it, so it holds ACCESS
// EXCLUSIVE on them (their reads wait until it commits) and EXCLUSIVE on the event log (every
// committer's appends wait; reads of the log go on). It takes the projection tables first,
// ledger_accounts first among them: a committer transaction reads ledger_accounts before any
// other ledger table, so once the rebuild holds it no committer transaction holds, or will
// take, a lock the rebuild waits for.
//
// TRUNCATE is not MVCC-safe: a transaction whose snapshot predates the rebuild's commit would
// see the tables empty. A reader that needs them whole takes ACCESS SHARE on them, in the
// same order, before its first snapshot: it waits for a running rebuild, and a rebuild waits
// for it.
#pragma once

#include <vector>

#include "ledger/pg.h"

namespace projections {

// To run first in the rebuild's transaction.
std::vector<pg::Statement> lock_for_rebuild();
// To run first in the reader's REPEATABLE READ transaction, before any query.
pg::Statement lock_for_snapshot_read();

}  // namespace projections
