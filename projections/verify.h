// Verification of the whole ledger: immutability guards in place, every stream's hash
// chain recomputed over the exact stored bytes, versions contiguous, every event folding,
// and every projection row equal to a fresh fold of its stream's events.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <pqxx/pqxx>

namespace projections {

struct VerifyReport {
  bool clean = true;
  std::string problem;       // the first problem found, in words
  std::string stream_id;     // where it was found ("" when not stream-specific)
  int64_t stream_version = 0;
  int64_t streams_checked = 0;
  int64_t events_checked = 0;
};

// Called after each verified stream with the running totals (for terminal progress).
using VerifyProgress = std::function<void(int64_t streams_checked, int64_t events_checked)>;

// Checks everything above and stops at the first problem. Read-only.
VerifyReport verify_ledger(pqxx::connection& connection, const VerifyProgress& progress = {});

// Rebuilds the inline projections (accounts, reservations) from the event log in one
// transaction, under the same advisory locks as the committer. Returns the streams rebuilt.
int64_t replay_projections(pqxx::connection& connection, const VerifyProgress& progress = {});

}  // namespace projections
