// ledger_usage_daily gateway (projections/usage.h).
#include "projections/usage.h"

#include <cassert>
#include <chrono>
#include <variant>

#include "ledger/sql_text.h"
#include "ledger/time_format.h"

namespace projections::usage {

std::string day_of(int64_t unix_us) {
  // Civil arithmetic, not the formatter: a scan asks this for every capture of the log.
  using namespace std::chrono;
  const year_month_day date{floor<days>(sys_time<microseconds>(microseconds(unix_us)))};
  const int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) return ledger::format_rfc3339(unix_us).substr(0, 10);
  const auto month = static_cast<unsigned>(date.month());
  const auto day = static_cast<unsigned>(date.day());
  std::string text = "0000-00-00";
  const auto put = [&text](std::size_t at, unsigned value, int digits) {
    for (int i = digits - 1; i >= 0; --i, value /= 10)
      text[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<unsigned>(year), 4);
  put(5, month, 2);
  put(8, day, 2);
  return text;
}

void count(const ledger::AccountState& after, const ledger::EventBody& event,
           int64_t recorded_at_us, Usage& usage) {
  const auto* captured = std::get_if<ledger::ReservationCaptured>(&event);
  if (captured == nullptr || captured->amount_captured <= 0) return;
  const auto reservation = after.reservations.find(captured->reservation_id);
  // A capture applies only to a reservation the state holds (the committer loads it).
  assert(reservation != after.reservations.end());
  if (reservation == after.reservations.end()) return;
  usage[{day_of(recorded_at_us), reservation->second.feature}] += captured->amount_captured;
}

pg::Statement add(const AccountsUsage& increments) {
  std::vector<std::string> accounts;
  std::vector<std::string> days;
  std::vector<std::string> features;
  std::vector<int64_t> credits;
  for (const auto& [account, usage] : increments) {
    for (const auto& [key, amount] : usage) {
      accounts.push_back(account);
      days.push_back(key.first);
      features.push_back(key.second);
      credits.push_back(amount);
    }
  }
  assert(!accounts.empty());
  using namespace ledger::sql;
  return {"usage_add",
          "INSERT INTO ledger_usage_daily AS u (account_id, day, feature, credits)"
          " SELECT a, d::date, f, c FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])"
          " AS i(a, d, f, c)"
          " ON CONFLICT (account_id, day, feature) DO UPDATE SET credits = u.credits + "
          "excluded.credits",
          {text_array(accounts), text_array(days), text_array(features), int64_array(credits)}};
}

pg::Statement load_accounts(const std::vector<std::string>& account_ids) {
  return {"usage_load_accounts",
          "SELECT account_id, to_char(day, 'YYYY-MM-DD'), feature, credits"
          " FROM ledger_usage_daily WHERE account_id = ANY($1::text[])",
          {ledger::sql::text_array(account_ids)}};
}

AccountsUsage apply(const pg::Result& rows) {
  AccountsUsage usage;
  for (int i = 0; i < rows.rows(); ++i) {
    usage[rows.string(i, 0)][{rows.string(i, 1), rows.string(i, 2)}] = rows.int64(i, 3);
  }
  return usage;
}

pg::Statement clear() { return {"usage_clear", "TRUNCATE ledger_usage_daily", {}}; }

std::string difference(const Usage& projected, const Usage& folded) {
  if (projected == folded) return "";
  for (const auto& [key, credits] : folded) {
    const auto it = projected.find(key);
    if (it == projected.end() || it->second != credits) {
      return "usage of " + key.second + " on " + key.first + " differs from the fold";
    }
  }
  return "usage projection has rows the fold does not";
}

std::vector<Row> read(pg::Connection& connection, const std::string& account_id,
                      const std::string& from_day, const std::string& to_day, GroupBy group_by) {
  const char* sql = nullptr;
  const char* name = nullptr;
  switch (group_by) {
    case GroupBy::kDayAndFeature:
      name = "usage_read";
      sql =
          "SELECT to_char(day, 'YYYY-MM-DD'), feature, credits FROM ledger_usage_daily"
          " WHERE account_id = $1 AND day BETWEEN $2::date AND $3::date ORDER BY day, feature";
      break;
    case GroupBy::kDay:
      name = "usage_read_by_day";
      sql =
          "SELECT to_char(day, 'YYYY-MM-DD'), '', sum(credits)::bigint FROM ledger_usage_daily"
          " WHERE account_id = $1 AND day BETWEEN $2::date AND $3::date GROUP BY day ORDER BY day";
      break;
    case GroupBy::kFeature:
      name = "usage_read_by_feature";
      sql =
          "SELECT '', feature, sum(credits)::bigint FROM ledger_usage_daily"
          " WHERE account_id = $1 AND day BETWEEN $2::date AND $3::date"
          " GROUP BY feature ORDER BY feature";
      break;
  }
  const pg::Result rows = connection.exec({name, sql, {account_id, from_day, to_day}});
  std::vector<Row> result;
  for (int i = 0; i < rows.rows(); ++i) {
    result.push_back({rows.string(i, 0), rows.string(i, 1), rows.int64(i, 2)});
  }
  return result;
}

}  // namespace projections::usage
