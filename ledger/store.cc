// The event store (ledger/store.h).
#include "ledger/store.h"

#include <array>
#include <cassert>
#include <charconv>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <thread>

#include "crypto/digest.h"
#include "ledger/events.h"
#include "ledger/sql_text.h"

namespace ledger {
namespace {

constexpr int64_t kFoldPageSize = 1'000;

// Read in binary format (Statement::binary_results): no text conversion of the uuid, the
// timestamp or the hash on either side.
#define EVENT_COLUMNS                                                                    \
  "stream_id, stream_version, global_position, event_id, event_type, payload, metadata," \
  " recorded_at, hash"

void append_field(std::string& out, std::string_view value) {
  std::array<char, 24> length{};
  const auto end = std::to_chars(length.data(), length.data() + length.size(), value.size()).ptr;
  out.append(length.data(), end);
  out.push_back(':');
  out.append(value);
}

void append_field(std::string& out, int64_t value) {
  std::array<char, 24> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  append_field(out, std::string_view(digits.data(), static_cast<std::size_t>(end - digits.data())));
}

}  // namespace

std::string event_hash(const std::string& previous_hash, const StoredEvent& event) {
  assert(previous_hash.size() == crypto::kSha256Size);
  // One buffer per thread, reused: a scan hashes every event of the log.
  thread_local std::string input;
  input.assign(previous_hash);
  append_field(input, event.stream_id);
  append_field(input, event.stream_version);
  append_field(input, event.event_id);
  append_field(input, event.event_type);
  append_field(input, event.recorded_at_us);
  append_field(input, event.payload);
  append_field(input, event.metadata);
  return crypto::sha256(input);
}

pg::Statement append_events(const std::vector<StoredEvent>& events) {
  assert(!events.empty());
  std::vector<std::string> streams, ids, types, payloads, metadata, recorded, hashes;
  std::vector<int64_t> versions;
  for (const StoredEvent& e : events) {
    assert(e.hash.size() == crypto::kSha256Size);
    streams.push_back(e.stream_id);
    versions.push_back(e.stream_version);
    ids.push_back(e.event_id);
    types.push_back(e.event_type);
    payloads.push_back(e.payload);
    metadata.push_back(e.metadata);
    recorded.push_back(sql::timestamp_literal(e.recorded_at_us));
    hashes.push_back(crypto::hex_encode(e.hash));
  }
  using namespace sql;
  return {"events_append",
          "INSERT INTO ledger_events (stream_id, stream_version, event_id, event_type, payload,"
          " metadata, recorded_at, hash)"
          " SELECT s, v, e::uuid, t, p::json, m::json, r::timestamptz, decode(h, 'hex')"
          " FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],"
          " $7::text[], $8::text[]) AS x(s, v, e, t, p, m, r, h)",
          {text_array(streams), int64_array(versions), text_array(ids), text_array(types),
           text_array(payloads), text_array(metadata), text_array(recorded), text_array(hashes)}};
}

pg::Statement read_stream_statement(const std::string& stream_id, int64_t after_version,
                                    int64_t limit) {
  assert(limit > 0);
  return {"events_read_stream",
          "SELECT " EVENT_COLUMNS
          " FROM ledger_events WHERE stream_id = $1 AND stream_version > $2"
          " ORDER BY stream_version LIMIT $3",
          {stream_id, std::to_string(after_version), std::to_string(limit)},
          true};
}

std::vector<StoredEvent> parse_events(const pg::Result& rows) {
  const auto count = static_cast<std::size_t>(rows.rows());
  std::vector<StoredEvent> events(count);
  for (std::size_t i = 0; i < count; ++i) {
    const int row = static_cast<int>(i);
    StoredEvent& event = events[i];
    event.stream_id.assign(rows.text(row, 0));
    event.stream_version = rows.binary_int64(row, 1);
    event.global_position = rows.binary_int64(row, 2);
    crypto::uuid_text(rows.text(row, 3), event.event_id);
    event.event_type.assign(rows.text(row, 4));
    event.payload.assign(rows.text(row, 5));
    event.metadata.assign(rows.text(row, 6));
    event.recorded_at_us = rows.binary_timestamptz_unix_us(row, 7);
    event.hash.assign(rows.text(row, 8));
  }
  return events;
}

void parse_event(std::string_view copy_row, StoredEvent& event) {
  pg::CopyRow row(copy_row);
  if (row.fields() != 9) throw std::runtime_error("a log row without the event's 9 columns");
  event.stream_id.assign(row.text());
  event.stream_version = row.int64();
  event.global_position = row.int64();
  crypto::uuid_text(row.text(), event.event_id);
  event.event_type.assign(row.text());
  event.payload.assign(row.text());
  event.metadata.assign(row.text());
  event.recorded_at_us = row.timestamptz_unix_us();
  event.hash.assign(row.text());
}

pg::Statement log_copy_setup() { return {"", "SET LOCAL enable_sort = off", {}}; }

std::string_view log_copy_sql() {
  return "COPY (SELECT " EVENT_COLUMNS
         " FROM ledger_events ORDER BY stream_id, stream_version) TO STDOUT (FORMAT binary)";
}

std::vector<StoredEvent> read_stream(pg::Connection& connection, const std::string& stream_id,
                                     int64_t after_version, int64_t limit) {
  return parse_events(connection.exec(read_stream_statement(stream_id, after_version, limit)));
}

std::vector<std::pair<int64_t, std::string>> read_hashes_by_position(pg::Connection& connection,
                                                                     int64_t after, int64_t up_to,
                                                                     int64_t limit) {
  assert(limit > 0);
  const pg::Result rows = connection.exec(
      {"events_hashes_by_position",
       "SELECT global_position, hash FROM ledger_events"
       " WHERE global_position > $1 AND global_position <= $2 ORDER BY global_position LIMIT $3",
       {std::to_string(after), std::to_string(up_to), std::to_string(limit)}});
  std::vector<std::pair<int64_t, std::string>> hashes;
  hashes.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) hashes.emplace_back(rows.int64(i, 0), rows.bytes(i, 1));
  return hashes;
}

std::optional<StoredEvent> read_event(pg::Connection& connection, const std::string& stream_id,
                                      int64_t version) {
  std::vector<StoredEvent> events = parse_events(connection.exec(
      {"events_read_one",
       "SELECT " EVENT_COLUMNS " FROM ledger_events WHERE stream_id = $1 AND stream_version = $2",
       {stream_id, std::to_string(version)},
       true}));
  if (events.empty()) return std::nullopt;
  return std::move(events.front());
}

int64_t settled_position(pg::Connection& connection, int64_t wait_ms) {
  const pg::Result first = connection.exec(
      {"events_position_and_xmax",
       "SELECT coalesce(max(global_position), 0),"
       " pg_snapshot_xmax(pg_current_snapshot())::text::bigint FROM ledger_events",
       {}});
  const int64_t position = first.int64(0, 0);
  const int64_t xmax = first.int64(0, 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    const pg::Result now = connection.exec(
        {"events_snapshot_xmin", "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
         {}});
    if (now.int64(0, 0) >= xmax) return position;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("transactions older than the digest stayed open for " +
                               std::to_string(wait_ms) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::vector<StoredEvent> read_stream_backward(pg::Connection& connection,
                                              const std::string& stream_id,
                                              int64_t before_version, int64_t limit) {
  assert(limit > 0);
  return parse_events(connection.exec(
      {"events_read_stream_backward",
       "SELECT " EVENT_COLUMNS " FROM ledger_events WHERE stream_id = $1 AND stream_version < $2"
       " ORDER BY stream_version DESC LIMIT $3",
       {stream_id, std::to_string(before_version), std::to_string(limit)},
       true}));
}

std::vector<StoredEvent> read_recorded_between(pg::Connection& connection, int64_t from_us,
                                               int64_t to_us, int64_t after_position,
                                               int64_t limit) {
  assert(limit > 0 && from_us <= to_us);
  return parse_events(connection.exec(
      {"events_recorded_between",
       "SELECT " EVENT_COLUMNS
       " FROM ledger_events WHERE recorded_at >= $1::timestamptz AND recorded_at < $2::timestamptz"
       " AND global_position > $3 ORDER BY global_position LIMIT $4",
       {sql::timestamp_literal(from_us), sql::timestamp_literal(to_us),
        std::to_string(after_position), std::to_string(limit)},
       true}));
}

std::vector<StoredEvent> read_grants_from(pg::Connection& connection, const std::string& source,
                                          const std::string& after_stream, int64_t after_version,
                                          int64_t limit) {
  assert(limit > 0);
  return parse_events(connection.exec(
      {"events_grants_from",
       "SELECT " EVENT_COLUMNS
       " FROM ledger_events WHERE event_type = 'CreditsGranted' AND payload->>'source' = $1"
       " AND (stream_id, stream_version) > ($2::text, $3::bigint)"
       " ORDER BY stream_id, stream_version LIMIT $4",
       {source, after_stream, std::to_string(after_version), std::to_string(limit)},
       true}));
}

std::vector<std::string> read_stream_ids(pg::Connection& connection, const std::string& after,
                                         int64_t limit) {
  const pg::Result rows = connection.exec(
      {"events_stream_ids",
       "SELECT DISTINCT stream_id FROM ledger_events WHERE stream_id > $1 ORDER BY 1 LIMIT $2",
       {after, std::to_string(limit)}});
  std::vector<std::string> ids;
  for (int i = 0; i < rows.rows(); ++i) ids.push_back(rows.string(i, 0));
  return ids;
}

int64_t enabled_trigger_count(pg::Connection& connection, const std::string& table) {
  return connection
      .exec({"enabled_trigger_count",
             "SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass"
             " AND NOT tgisinternal AND tgenabled <> 'D'",
             {table}})
      .int64(0, 0);
}

bool event_log_guarded(pg::Connection& connection) {
  return enabled_trigger_count(connection, "ledger_events") >= 2;
}

bool fold_event(AccountState& state, const StoredEvent& event) {
  const auto body = decode_event(event.event_type, event.payload);
  return body && fold_event(state, event, *body);
}

bool fold_event(AccountState& state, const StoredEvent& event, const EventBody& body) {
  if (!apply_event(state, body)) return false;
  if (std::holds_alternative<AccountOpened>(body)) state.opened_at_us = event.recorded_at_us;
  state.version = event.stream_version;
  state.last_hash = event.hash;
  return true;
}

std::optional<AccountState> fold_stream(pg::Connection& connection, const std::string& stream_id,
                                        int64_t as_of_us) {
  AccountState state = empty_account(stream_id);
  const std::string as_of = as_of_us == std::numeric_limits<int64_t>::max()
                                ? std::string("infinity")
                                : sql::timestamp_literal(as_of_us);
  // One snapshot for every page: a commit between two pages cannot tear the fold.
  connection.exec({"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}});
  try {
    for (;;) {
      const std::vector<StoredEvent> events = parse_events(connection.exec(
          {"events_fold_page",
           "SELECT " EVENT_COLUMNS
           " FROM ledger_events WHERE stream_id = $1 AND stream_version > $2"
           " AND recorded_at <= $3::timestamptz ORDER BY stream_version LIMIT $4",
           {stream_id, std::to_string(state.version), as_of, std::to_string(kFoldPageSize)},
           true}));
      for (const StoredEvent& event : events) {
        if (!fold_event(state, event)) {
          throw std::runtime_error("stream " + stream_id + " version " +
                                   std::to_string(event.stream_version) + " does not fold");
        }
      }
      if (static_cast<int64_t>(events.size()) < kFoldPageSize) break;
    }
  } catch (...) {
    connection.rollback();
    throw;
  }
  connection.exec({"", "COMMIT", {}});
  if (state.version == 0) return std::nullopt;
  return state;
}

}  // namespace ledger
