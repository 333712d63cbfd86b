// Verification of the whole ledger: immutability guards in place, every stream's hash
// chain recomputed over the exact stored bytes, versions contiguous, every event folding,
// and every projection row equal to a fresh fold of its stream's events; and the replay
// that rebuilds the projections from the log. Both load and write the projection tables
// through their gateways (projections/), the same code the committer uses.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ledger/pg.h"

namespace audit {

struct VerifyReport {
  bool clean = true;
  std::string problem;    // the first problem found, in words
  std::string stream_id;  // where it was found ("" when not stream-specific)
  int64_t stream_version = 0;
  int64_t streams_checked = 0;
  int64_t events_checked = 0;
};

// Called after each verified stream with the running totals (for terminal progress).
using VerifyProgress = std::function<void(int64_t streams_checked, int64_t events_checked)>;

// Checks everything above and stops at the first problem. Read-only, in one repeatable-read
// snapshot; the log is read in pages in (stream, version) order by a second thread on a
// second connection in the same snapshot (opened with `connection`'s options), and compared
// with the projection rows 100 accounts at a time, so memory does not grow with the
// account count.
VerifyReport verify_ledger(pg::Connection& connection, const VerifyProgress& progress = {});

// The same checks for one account's stream (versions, hash chain, fold, invariants, its
// projection rows) in one snapshot: the admin console's "verify this stream". A stream
// without events is clean with streams_checked 0. Database errors propagate.
VerifyReport verify_stream(pg::Connection& connection, const std::string& account_id);

// Rebuilds the inline projections (balances, reservations, subscriptions, refund
// references, daily usage) from the event log in one transaction that locks the log and the
// projection tables against every committer, writing them 100 accounts at a time as the
// scan (read as verify_ledger reads it) folds them. Returns the streams rebuilt. Throws
// std::runtime_error naming the stream when an event does not fold (nothing is changed then).
int64_t replay_projections(pg::Connection& connection, const VerifyProgress& progress = {});

}  // namespace audit
