// Export of the event log for finance and audit: every event recorded in [from, to), in
// global-position order, as CSV or JSON Lines, read in bounded pages.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include <pqxx/pqxx>

namespace audit {

enum class ExportFormat { kCsv, kJsonLines };

// Called after each page with the number of events written so far.
using ExportProgress = std::function<void(int64_t events_written)>;

// Writes the events with from_us <= recorded_at < to_us (microseconds since the epoch).
// CSV has a header line; payload and metadata are their exact stored JSON text. Returns the
// number of events written. Read-only; one snapshot for the whole export.
int64_t export_events(pqxx::connection& connection, int64_t from_us, int64_t to_us,
                      ExportFormat format, std::ostream& out, const ExportProgress& progress = {});

}  // namespace audit
