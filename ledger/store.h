// The event store, table ledger_events: the append-only log of every account stream, its
// per-stream SHA-256 hash chain, the append statement the committer writes with, and the
// reads of a stream (history, folds at an instant, verify and replay).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/account.h"
#include "ledger/pg.h"

namespace ledger {

struct StoredEvent {
  std::string stream_id;
  int64_t stream_version = 0;
  int64_t global_position = 0;  // assigned by the database on append
  std::string event_id;
  std::string event_type;
  std::string payload;   // exact stored JSON text
  std::string metadata;  // exact stored JSON text
  int64_t recorded_at_us = 0;
  std::string hash;  // 32 bytes
};

// The hash chain link: SHA-256 over the previous hash and the exact stored bytes.
std::string event_hash(const std::string& previous_hash, const StoredEvent& event);

// Appends `events` (global positions are assigned by the database). A stream version that
// exists already violates the primary key: the whole statement fails.
pg::Statement append_events(const std::vector<StoredEvent>& events);

// Events of one stream with stream_version > after_version, in order, at most `limit`.
pg::Statement read_stream_statement(const std::string& stream_id, int64_t after_version,
                                    int64_t limit);
// The events of a result of the statements here (binary format).
std::vector<StoredEvent> parse_events(const pg::Result& rows);
std::vector<StoredEvent> read_stream(pg::Connection& connection, const std::string& stream_id,
                                     int64_t after_version, int64_t limit);
// (global position, stored hash) of the events with after < position <= up_to, in position
// order, at most `limit` (digests: the Merkle leaves).
std::vector<std::pair<int64_t, std::string>> read_hashes_by_position(pg::Connection& connection,
                                                                     int64_t after, int64_t up_to,
                                                                     int64_t limit);
// The stored event (stream, version), or nullopt.
std::optional<StoredEvent> read_event(pg::Connection& connection, const std::string& stream_id,
                                      int64_t version);
// A global position below which no event can still appear: the highest committed one,
// once every transaction that was running when it was read has ended (a position is drawn
// before its transaction commits, so a lower one may become visible after a higher one).
// Waits at most `wait_ms`; throws std::runtime_error when transactions outlive it.
int64_t settled_position(pg::Connection& connection, int64_t wait_ms);

// The whole log in (stream, version) order as one binary COPY ... TO STDOUT, for
// pg::Connection::start_copy_out on a connection of its own (the scan's reader thread: the
// server sends while the reader parses, with no query per page), in a transaction that ran
// log_copy_setup() first: the plan follows the primary key's index and never sorts the log.
pg::Statement log_copy_setup();
std::string_view log_copy_sql();
// One row of that COPY into `event`, reusing its strings' storage; std::runtime_error when
// the row is not an event's 9 columns.
void parse_event(std::string_view copy_row, StoredEvent& event);

// The stream's events with version < `before_version`, newest first, at most `limit`.
std::vector<StoredEvent> read_stream_backward(pg::Connection& connection,
                                              const std::string& stream_id,
                                              int64_t before_version, int64_t limit);

// Events of every stream recorded in [from_us, to_us) with global_position > after_position,
// in position order, at most `limit` (exports page through a snapshot with this).
std::vector<StoredEvent> read_recorded_between(pg::Connection& connection, int64_t from_us,
                                               int64_t to_us, int64_t after_position,
                                               int64_t limit);

// CreditsGranted events whose payload source is `source`, after (stream, version) in that
// order, at most `limit` (reconciliation of Stripe grants).
std::vector<StoredEvent> read_grants_from(pg::Connection& connection, const std::string& source,
                                          const std::string& after_stream, int64_t after_version,
                                          int64_t limit);

// Stream ids in order after `after`, at most `limit` (verify and replay page through them).
std::vector<std::string> read_stream_ids(pg::Connection& connection, const std::string& after,
                                         int64_t limit);

// The user triggers of `table` that exist and are enabled (immutability checks).
int64_t enabled_trigger_count(pg::Connection& connection, const std::string& table);

// True when both immutability triggers of ledger_events (UPDATE/DELETE, TRUNCATE) exist and
// are enabled.
bool event_log_guarded(pg::Connection& connection);

// Applies `event` to `state` and advances its version and hash. False when the event does not
// decode or cannot follow the state (a corrupt or tampered log).
[[nodiscard]] bool fold_event(AccountState& state, const StoredEvent& event);
// The same with the event's body decoded already (decode_event of its type and payload).
[[nodiscard]] bool fold_event(AccountState& state, const StoredEvent& event, const EventBody& body);

// Folds the stream's events recorded at or before `as_of_us` (all events when as_of_us is
// INT64_MAX), page by page in one snapshot. Returns nullopt when the account had no events
// by then; throws std::runtime_error when an event does not fold.
std::optional<AccountState> fold_stream(pg::Connection& connection, const std::string& stream_id,
                                        int64_t as_of_us);

}  // namespace ledger
