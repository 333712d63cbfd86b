// The finance report (audit/report.h).
#include "audit/report.h"

#include <cassert>
#include <variant>

#include "ledger/account.h"
#include "ledger/events.h"
#include "ledger/json_fields.h"
#include "ledger/store.h"
#include "ledger/time_format.h"
#include "projections/balances.h"

namespace audit {
namespace {

namespace json = ledger::json;

constexpr int64_t kPageSize = 1'000;

// What one account moved in the period.
struct Movements {
  std::map<std::string, int64_t> granted;
  int64_t refunded = 0;
  std::map<std::string, int64_t> spent;
  int64_t expired = 0;
};

// Adds what `event` moves; `before` is the state before it (a capture's feature).
void count(const ledger::AccountState& before, const ledger::EventBody& event, Movements& moved) {
  if (const auto* e = std::get_if<ledger::CreditsGranted>(&event)) {
    moved.granted[e->source] += e->amount;
  } else if (const auto* e = std::get_if<ledger::CreditsRefunded>(&event)) {
    moved.refunded += e->amount;
  } else if (const auto* e = std::get_if<ledger::ReservationCaptured>(&event)) {
    const auto reservation = before.reservations.find(e->reservation_id);
    moved.spent[reservation == before.reservations.end() ? "" : reservation->second.feature] +=
        e->amount_captured;
  } else if (const auto* e = std::get_if<ledger::CreditsExpired>(&event)) {
    moved.expired += e->amount;
  } else if (const auto* e = std::get_if<ledger::CreditsRevoked>(&event)) {
    moved.expired += e->amount;  // a refunded pack's unspent credits leave unspent
  }
}

int64_t outstanding(const ledger::AccountState& state) {
  return state.credits_available + state.credits_reserved;
}

int64_t sum(const std::map<std::string, int64_t>& values) {
  int64_t total = 0;
  for (const auto& [key, value] : values) total += value;
  return total;
}

void unbalanced(FinanceReport& report, const std::string& account, std::string problem) {
  if (!report.balanced) return;  // the first one is named
  report.balanced = false;
  report.account_id = account;
  report.problem = std::move(problem);
}

// Folds one account to `to_us`, adding it to the report.
void add_account(pg::Connection& connection, const std::string& account, FinanceReport& report) {
  ledger::AccountState state = ledger::empty_account(account);
  int64_t opening = 0;
  bool opened_period = false;
  Movements moved;
  for (bool more = true; more;) {
    const auto events = ledger::read_stream(connection, account, state.version, kPageSize);
    more = static_cast<int64_t>(events.size()) == kPageSize;
    for (const ledger::StoredEvent& stored : events) {
      if (stored.recorded_at_us >= report.to_us) {
        more = false;
        break;
      }
      if (!opened_period && stored.recorded_at_us >= report.from_us) {
        opening = outstanding(state);
        opened_period = true;
      }
      if (opened_period) {  // counted against the state before the event
        const auto body = ledger::decode_event(stored.event_type, stored.payload);
        if (body) count(state, *body, moved);
      }
      if (!ledger::fold_event(state, stored)) {
        unbalanced(report, account,
                   "event " + std::to_string(stored.stream_version) +
                       " does not fold (run ledgerctl verify)");
        return;
      }
    }
  }
  if (!opened_period) opening = outstanding(state);
  const int64_t closing = outstanding(state);
  report.opening_outstanding += opening;
  report.closing_outstanding += closing;
  for (const auto& [source, amount] : moved.granted) report.granted[source] += amount;
  for (const auto& [feature, amount] : moved.spent) report.spent[feature] += amount;
  report.refunded += moved.refunded;
  report.expired += moved.expired;
  if (opening + sum(moved.granted) + moved.refunded - sum(moved.spent) - moved.expired != closing) {
    unbalanced(report, account, "opening + granted + refunded - spent - expired != closing");
  }
  if (report.compared_with_projection) {
    const auto projected = projections::balances::read(connection, account);
    const int64_t projected_outstanding =
        projected ? projected->credits_available + projected->credits_reserved : 0;
    if (state.version > 0 && projected_outstanding != closing) {
      unbalanced(report, account,
                 "the balance projection holds " + std::to_string(projected_outstanding) +
                     " outstanding credits, the log " + std::to_string(closing));
    }
  }
}

std::string object_of(const std::map<std::string, int64_t>& values) {
  return json::object_text([&](json::Writer& w) {
    for (const auto& [key, value] : values) json::put(w, key.c_str(), value);
  });
}

}  // namespace

FinanceReport finance_report(pg::Connection& connection, int64_t from_us, int64_t to_us) {
  assert(from_us <= to_us);
  FinanceReport report;
  report.from_us = from_us;
  report.to_us = to_us;
  report.compared_with_projection =
      to_us >= ledger::unix_now_us();
  connection.exec({"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}});
  try {
    std::string after;
    for (;;) {
      const auto accounts = ledger::read_stream_ids(connection, after, kPageSize);
      for (const std::string& account : accounts) {
        add_account(connection, account, report);
        ++report.accounts;
      }
      if (static_cast<int64_t>(accounts.size()) < kPageSize) break;
      after = accounts.back();
    }
  } catch (...) {
    connection.rollback();
    throw;
  }
  connection.exec({"", "COMMIT", {}});
  const int64_t moved = report.opening_outstanding + sum(report.granted) + report.refunded -
                        sum(report.spent) - report.expired;
  if (moved != report.closing_outstanding) {
    unbalanced(report, "", "the totals do not add up");
  }
  return report;
}

std::string report_json(const FinanceReport& report) {
  const std::string granted = object_of(report.granted);
  const std::string spent = object_of(report.spent);
  return json::object_text([&](json::Writer& w) {
    json::put(w, "from", ledger::format_rfc3339(report.from_us));
    json::put(w, "to", ledger::format_rfc3339(report.to_us));
    json::put(w, "opening_outstanding", report.opening_outstanding);
    w.Key("granted");
    w.RawValue(granted.data(), granted.size(), rapidjson::kObjectType);
    json::put(w, "refunded", report.refunded);
    w.Key("spent");
    w.RawValue(spent.data(), spent.size(), rapidjson::kObjectType);
    json::put(w, "expired", report.expired);
    json::put(w, "closing_outstanding", report.closing_outstanding);
    json::put(w, "balanced", report.balanced);
    json::put(w, "accounts", report.accounts);
    json::put(w, "compared_with_projection", report.compared_with_projection);
    if (!report.balanced) {
      json::put(w, "account", report.account_id);
      json::put(w, "problem", report.problem);
    }
  });
}

std::string report_csv(const FinanceReport& report) {
  std::string csv = "metric,key,value\n";
  const auto line = [&csv](const std::string& metric, const std::string& key,
                           const std::string& value) {
    // Keys are sources and features: quoted, with quotes doubled (RFC 4180).
    std::string quoted = "\"";
    for (const char c : key) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    csv += metric + "," + quoted + "\"," + value + "\n";
  };
  line("from", "", ledger::format_rfc3339(report.from_us));
  line("to", "", ledger::format_rfc3339(report.to_us));
  line("opening_outstanding", "", std::to_string(report.opening_outstanding));
  for (const auto& [source, amount] : report.granted)
    line("granted", source, std::to_string(amount));
  line("refunded", "", std::to_string(report.refunded));
  for (const auto& [feature, amount] : report.spent) line("spent", feature, std::to_string(amount));
  line("expired", "", std::to_string(report.expired));
  line("closing_outstanding", "", std::to_string(report.closing_outstanding));
  line("balanced", "", report.balanced ? "true" : "false");
  return csv;
}

}  // namespace audit
