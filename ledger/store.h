// Reads of the event store and the inline projections, over a caller-owned connection
// (one per thread: pqxx connections are not thread-safe), plus schema migration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "ledger/account.h"

namespace ledger {

// Applies every migration in schema/ not yet applied, each in its own transaction, under an
// advisory lock (safe to run twice and concurrently). Returns how many it applied.
int migrate(pqxx::connection& connection);

// The balance projection row of an account, or nullopt when it has never been opened.
struct BalanceView {
  std::string account_id;
  std::string plan_id;
  int64_t credits_available = 0;
  int64_t credits_reserved = 0;
  int64_t credits_granted = 0;
  int64_t credits_spent = 0;
  int64_t credits_expired = 0;
  int64_t version = 0;
  int64_t open_reservations = 0;
};
std::optional<BalanceView> read_balance(pqxx::connection& connection,
                                        const std::string& account_id);

struct StoredEvent {
  std::string stream_id;
  int64_t stream_version = 0;
  int64_t global_position = 0;
  std::string event_id;
  std::string event_type;
  std::string payload;   // exact stored JSON text
  std::string metadata;  // exact stored JSON text
  int64_t recorded_at_us = 0;
  std::string hash;  // 32 bytes
};

// Events of one stream with stream_version > after_version, in order, at most `limit`.
std::vector<StoredEvent> read_stream(pqxx::connection& connection, const std::string& stream_id,
                                     int64_t after_version, int64_t limit);
// The same inside the caller's transaction (one snapshot with other reads).
std::vector<StoredEvent> read_stream(pqxx::transaction_base& work, const std::string& stream_id,
                                     int64_t after_version, int64_t limit);

// The hash chain link: SHA-256 over the previous hash and the exact stored bytes.
std::string event_hash(const std::string& previous_hash, const StoredEvent& event);

// Folds the stream's events recorded at or before `as_of_us` (all events when as_of_us is
// INT64_MAX). Returns nullopt when the account had no events by then.
std::optional<AccountState> fold_stream(pqxx::connection& connection,
                                        const std::string& stream_id, int64_t as_of_us);

// Open reservations whose expiry has passed, for the sweeper (at most `limit`).
struct ExpiredReservationRef {
  std::string account_id;
  std::string reservation_id;
};
std::vector<ExpiredReservationRef> read_overdue_reservations(pqxx::connection& connection,
                                                             std::size_t limit);

}  // namespace ledger
