// ledger_reservations gateway (projections/reservations.h).
#include "projections/reservations.h"

#include <rapidjson/document.h>

#include <cassert>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "ledger/json_fields.h"
#include "ledger/sql_text.h"

namespace projections::reservations {
namespace {

// Read in binary format (the loads set binary_results): no text conversion of the numbers
// and the timestamp on either side.
#define RESERVATION_COLUMNS \
  "account_id, reservation_id, amount, feature, expires_at, status, amount_captured, draws"

// Writes the draws' JSON into `buffer` (cleared first).
void write_draws(const std::vector<ledger::BucketDraw>& draws, rapidjson::StringBuffer& buffer) {
  buffer.Clear();
  ledger::json::Writer w(buffer);
  w.StartArray();
  for (const ledger::BucketDraw& draw : draws) {
    w.StartObject();
    ledger::json::put(w, "bucket_id", draw.bucket_id);
    ledger::json::put(w, "amount", draw.amount);
    w.EndObject();
  }
  w.EndArray();
}

std::string encode_draws(const std::vector<ledger::BucketDraw>& draws) {
  rapidjson::StringBuffer buffer;
  write_draws(draws, buffer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::vector<ledger::BucketDraw> decode_draws(std::string_view text) {
  return ledger::json::parse_scratch(text, [](const auto& d) {
    if (d.HasParseError() || !d.IsArray()) {
      throw std::runtime_error("the reservation projection holds malformed draws");
    }
    std::vector<ledger::BucketDraw> draws;
    for (const rapidjson::Value& v : d.GetArray()) {
      auto bucket_id = v.IsObject() ? ledger::json::get_string(v, "bucket_id") : std::nullopt;
      auto amount = v.IsObject() ? ledger::json::get_int64(v, "amount") : std::nullopt;
      if (!bucket_id || !amount) {
        throw std::runtime_error("the reservation projection holds a malformed draw");
      }
      draws.push_back({std::move(*bucket_id), *amount});
    }
    return draws;
  });
}

ledger::ReservationStatus parse_status(std::string_view text) {
  for (const auto status : {ledger::ReservationStatus::kOpen, ledger::ReservationStatus::kCaptured,
                            ledger::ReservationStatus::kReleased,
                            ledger::ReservationStatus::kExpired}) {
    if (ledger::reservation_status_name(status) == text) return status;
  }
  throw std::runtime_error("unknown reservation status in the projection");
}

bool same(const ledger::Reservation& a, const ledger::Reservation& b) {
  return a.id == b.id && a.amount == b.amount && a.feature == b.feature &&
         a.expires_at_us == b.expires_at_us && a.status == b.status &&
         a.amount_captured == b.amount_captured && a.draws == b.draws;
}

}  // namespace

pg::Statement load(const std::vector<Key>& keys) {
  std::vector<std::string> accounts;
  std::vector<std::string> ids;
  for (const auto& [account, id] : keys) {
    accounts.push_back(account);
    ids.push_back(id);
  }
  return {"reservations_load",
          "SELECT " RESERVATION_COLUMNS
          " FROM ledger_reservations JOIN unnest($1::text[], $2::text[]) AS k(account_id,"
          " reservation_id) USING (account_id, reservation_id)",
          {ledger::sql::text_array(accounts), ledger::sql::text_array(ids)},
          true};
}

pg::Statement load_accounts(const std::vector<std::string>& account_ids) {
  return {"reservations_load_accounts",
          "SELECT " RESERVATION_COLUMNS
          " FROM ledger_reservations WHERE account_id = ANY($1::text[])",
          {ledger::sql::text_array(account_ids)},
          true};
}

void apply(const pg::Result& rows, ledger::AccountStates& states) {
  // The previous row's account: one lookup per run of rows of one account.
  ledger::AccountState* state = nullptr;
  for (int i = 0; i < rows.rows(); ++i) {
    ledger::Reservation r;
    r.id = rows.string(i, 1);
    r.amount = rows.binary_int64(i, 2);
    r.feature = rows.string(i, 3);
    r.expires_at_us = rows.binary_timestamptz_unix_us(i, 4);
    r.status = parse_status(rows.text(i, 5));
    r.amount_captured = rows.binary_int64(i, 6);
    r.draws = decode_draws(rows.text(i, 7));
    if (state == nullptr || state->account_id != rows.text(i, 0)) {
      state = &states.at(rows.string(i, 0));
    }
    auto& reservations = state->reservations;
    std::string id = r.id;
    if (!reservations.empty() && std::prev(reservations.end())->first < id) {
      // Rows of one account tend to come in key order (the primary key's): append.
      reservations.emplace_hint(reservations.end(), std::move(id), std::move(r));
    } else {
      reservations.insert_or_assign(std::move(id), std::move(r));
    }
  }
}

bool rows_match(const pg::Result& rows, const std::vector<const ledger::AccountState*>& folded) {
  // Per account: its folded reservations, the next one a row in key order meets, and the
  // rows matched. The primary key makes the rows distinct, so equal counts of matched rows
  // and folded reservations mean one row per reservation.
  struct Walk {
    const ledger::AccountState* state;
    std::map<std::string, ledger::Reservation>::const_iterator next;
    std::size_t matched = 0;
  };
  std::unordered_map<std::string_view, Walk> walks;
  for (const ledger::AccountState* state : folded) {
    walks.emplace(state->account_id, Walk{state, state->reservations.begin()});
  }
  thread_local rapidjson::StringBuffer draws;  // the folded draws' JSON, as write() writes it
  Walk* walk = nullptr;
  for (int i = 0; i < rows.rows(); ++i) {
    if (walk == nullptr || walk->state->account_id != rows.text(i, 0)) {
      const auto it = walks.find(rows.text(i, 0));
      if (it == walks.end()) return false;
      walk = &it->second;
    }
    const auto& reservations = walk->state->reservations;
    const std::string_view id = rows.text(i, 1);
    auto r = walk->next;
    if (r == reservations.end() || r->first != id) r = reservations.find(std::string(id));
    if (r == reservations.end()) return false;
    walk->next = std::next(r);
    ++walk->matched;
    const ledger::Reservation& reservation = r->second;
    write_draws(reservation.draws, draws);
    if (rows.binary_int64(i, 2) != reservation.amount || rows.text(i, 3) != reservation.feature ||
        rows.binary_timestamptz_unix_us(i, 4) != reservation.expires_at_us ||
        rows.text(i, 5) != ledger::reservation_status_name(reservation.status) ||
        rows.binary_int64(i, 6) != reservation.amount_captured ||
        rows.text(i, 7) != std::string_view(draws.GetString(), draws.GetSize())) {
      return false;
    }
  }
  for (const auto& [account, walk] : walks) {
    if (walk.matched != walk.state->reservations.size()) return false;
  }
  return true;
}

namespace {

// The rows of the reservations named by `keys`, as `states` hold them, as the eight bound
// arrays of an unnest(...) AS x(a, r, n, f, e, s, c, d).
std::vector<pg::Param> row_arrays(const std::vector<Key>& keys,
                                  const ledger::AccountStates& states) {
  assert(!keys.empty());
  std::vector<std::string> accounts, ids, features, expiries, statuses, draws;
  std::vector<int64_t> amounts, captured;
  for (const auto& [account, id] : keys) {
    const ledger::Reservation& r = states.at(account).reservations.at(id);
    accounts.push_back(account);
    ids.push_back(r.id);
    amounts.push_back(r.amount);
    features.push_back(r.feature);
    expiries.push_back(ledger::sql::timestamp_literal(r.expires_at_us));
    statuses.push_back(std::string(ledger::reservation_status_name(r.status)));
    captured.push_back(r.amount_captured);
    draws.push_back(encode_draws(r.draws));
  }
  using namespace ledger::sql;
  return {text_array(accounts), text_array(ids),      int64_array(amounts),  text_array(features),
          text_array(expiries), text_array(statuses), int64_array(captured), text_array(draws)};
}

#define RESERVATION_ROWS                                                             \
  "unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[]," \
  " $7::bigint[], $8::text[]) AS x(a, r, n, f, e, s, c, d)"

}  // namespace

pg::Statement write(const std::vector<Key>& keys, const ledger::AccountStates& states) {
  // MERGE under the accounts' locks (see projections/balances.cc).
  return {"reservations_write",
          "MERGE INTO ledger_reservations t USING (SELECT * FROM " RESERVATION_ROWS
          ") x ON t.account_id = x.a AND t.reservation_id = x.r"
          " WHEN MATCHED THEN UPDATE SET status = x.s, amount_captured = x.c"
          " WHEN NOT MATCHED THEN INSERT (account_id, reservation_id, amount, feature,"
          " expires_at, status, amount_captured, draws)"
          " VALUES (x.a, x.r, x.n, x.f, x.e::timestamptz, x.s, x.c, x.d)",
          row_arrays(keys, states)};
}

pg::CopyIn copy_rows(const std::vector<const ledger::AccountState*>& accounts) {
  pg::CopyIn copy(
      "COPY ledger_reservations (account_id, reservation_id, amount, feature, expires_at,"
      " status, amount_captured, draws) FROM STDIN (FORMAT binary)");
  for (const ledger::AccountState* account : accounts) {
    for (const auto& [id, r] : account->reservations) {
      copy.row(8);
      copy.text(account->account_id);
      copy.text(r.id);
      copy.int64(r.amount);
      copy.text(r.feature);
      copy.timestamptz_unix_us(r.expires_at_us);
      copy.text(ledger::reservation_status_name(r.status));
      copy.int64(r.amount_captured);
      copy.text(encode_draws(r.draws));
    }
  }
  return copy;
}

pg::Statement clear() { return {"reservations_clear", "TRUNCATE ledger_reservations", {}}; }

std::string difference(const ledger::AccountState& projected, const ledger::AccountState& folded) {
  if (projected.reservations.size() != folded.reservations.size()) {
    return "reservation projection has " + std::to_string(projected.reservations.size()) +
           " rows, fold has " + std::to_string(folded.reservations.size());
  }
  // Both maps are ordered by id and of one size: walked side by side, each projected
  // reservation meets the folded one of its id, unless the ids differ.
  auto folded_it = folded.reservations.begin();
  for (const auto& [id, r] : projected.reservations) {
    if (folded_it->first != id) break;
    if (!same(r, folded_it->second)) {
      return "reservation " + id + " differs from the fold of its events";
    }
    ++folded_it;
  }
  if (folded_it == folded.reservations.end()) return "";
  // The ids differ: name the first projected reservation that has no folded one or differs.
  for (const auto& [id, r] : projected.reservations) {
    const auto it = folded.reservations.find(id);
    if (it == folded.reservations.end()) return "reservation " + id + " has no events";
    if (!same(r, it->second)) return "reservation " + id + " differs from the fold of its events";
  }
  assert(false && "of two maps of one size with other ids, each has an id the other lacks");
  return "";
}

std::optional<std::string> read_status(pg::Connection& connection, const std::string& account_id,
                                       const std::string& reservation_id) {
  const pg::Result rows = connection.exec(
      {"reservations_status",
       "SELECT status FROM ledger_reservations WHERE account_id = $1 AND reservation_id = $2",
       {account_id, reservation_id}});
  if (rows.rows() == 0) return std::nullopt;
  return rows.string(0, 0);
}

std::map<std::string, std::string> read_features(pg::Connection& connection,
                                                 const std::string& account_id,
                                                 const std::vector<std::string>& reservation_ids) {
  std::map<std::string, std::string> features;
  if (reservation_ids.empty()) return features;
  const pg::Result rows = connection.exec(
      {"reservations_features",
       "SELECT reservation_id, feature FROM ledger_reservations"
       " WHERE account_id = $1 AND reservation_id = ANY($2::text[])",
       {account_id, ledger::sql::text_array(reservation_ids)}});
  for (int i = 0; i < rows.rows(); ++i) features[rows.string(i, 0)] = rows.string(i, 1);
  return features;
}

std::vector<Key> read_overdue(pg::Connection& connection, int64_t limit) {
  assert(limit > 0);
  const pg::Result rows = connection.exec(
      {"reservations_overdue",
       "SELECT account_id, reservation_id FROM ledger_reservations"
       " WHERE status = 'open' AND expires_at <= clock_timestamp()"
       " ORDER BY expires_at LIMIT $1",
       {std::to_string(limit)}});
  std::vector<Key> keys;
  for (int i = 0; i < rows.rows(); ++i) keys.emplace_back(rows.string(i, 0), rows.string(i, 1));
  return keys;
}

int64_t count_open(pg::Connection& connection) {
  return connection
      .exec({"reservations_count_open",
             "SELECT count(*) FROM ledger_reservations WHERE status = 'open'", {}})
      .int64(0, 0);
}

}  // namespace projections::reservations
