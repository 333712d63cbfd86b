// The usage projection, table ledger_usage_daily: credits spent per account, UTC day and
// feature, fed by ReservationCaptured events (the captured amount, on the day the capture
// was recorded, under the reservation's feature). The committer adds each batch's captures,
// replay rewrites it from the fold, verify compares it with the fold. The only code that
// reads or writes the table.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ledger/account.h"
#include "ledger/events.h"
#include "ledger/pg.h"

namespace projections::usage {

// (UTC day "YYYY-MM-DD", feature) -> credits spent.
using Usage = std::map<std::pair<std::string, std::string>, int64_t>;
// Account id -> its usage.
using AccountsUsage = std::map<std::string, Usage>;

// The UTC day of an instant, "YYYY-MM-DD".
std::string day_of(int64_t unix_us);

// Adds what `event`, recorded at `recorded_at_us`, spent: a capture's amount under the
// feature of its reservation in `after` (the state with the event applied).
void count(const ledger::AccountState& after, const ledger::EventBody& event,
           int64_t recorded_at_us, Usage& usage);

// Adds `increments` to the rows (creating them): the committer's batch.
pg::Statement add(const AccountsUsage& increments);
// Loads the accounts' rows (verify); apply() returns them by account.
pg::Statement load_accounts(const std::vector<std::string>& account_ids);
AccountsUsage apply(const pg::Result& rows);
pg::Statement clear();

// "" when equal, else the first difference in words.
std::string difference(const Usage& projected, const Usage& folded);

// One row of a read: `day` or `feature` is "" when grouped away.
struct Row {
  std::string day;
  std::string feature;
  int64_t credits = 0;
};
enum class GroupBy { kDayAndFeature, kDay, kFeature };
// The account's usage on days [from_day, to_day] (inclusive, "YYYY-MM-DD"), grouped, ordered
// by day then feature. One statement.
std::vector<Row> read(pg::Connection& connection, const std::string& account_id,
                      const std::string& from_day, const std::string& to_day, GroupBy group_by);

}  // namespace projections::usage
