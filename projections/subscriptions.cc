// ledger_subscriptions gateway (projections/subscriptions.h).
#include "projections/subscriptions.h"

#include <cassert>

#include "ledger/sql_text.h"

namespace projections::subscriptions {
namespace {

#define SUBSCRIPTION_COLUMNS                                                              \
  "subscription_id, customer_id, status, plan_id, scheduled_plan_id, period_start_s,"     \
  " period_end_s, cancel_at_period_end, watermark_created_s, granted_periods"

// Reads SUBSCRIPTION_COLUMNS (in that order) starting at column `first`.
ledger::SubscriptionState parse(const pg::Result& rows, int row, int first) {
  ledger::SubscriptionState sub;
  sub.subscription_id = rows.string(row, first);
  sub.customer_id = rows.string(row, first + 1);
  sub.status = rows.string(row, first + 2);
  sub.plan_id = rows.string(row, first + 3);
  sub.scheduled_plan_id = rows.string(row, first + 4);
  sub.period_start_s = rows.int64(row, first + 5);
  sub.period_end_s = rows.int64(row, first + 6);
  sub.cancel_at_period_end = rows.boolean(row, first + 7);
  sub.watermark_created_s = rows.int64(row, first + 8);
  for (std::string& key : ledger::sql::parse_text_array(rows.string(row, first + 9))) {
    sub.granted_periods.insert(std::move(key));
  }
  return sub;
}

bool same(const ledger::SubscriptionState& a, const ledger::SubscriptionState& b) {
  return a.subscription_id == b.subscription_id && a.customer_id == b.customer_id &&
         a.status == b.status && a.plan_id == b.plan_id &&
         a.scheduled_plan_id == b.scheduled_plan_id && a.period_start_s == b.period_start_s &&
         a.period_end_s == b.period_end_s && a.cancel_at_period_end == b.cancel_at_period_end &&
         a.watermark_created_s == b.watermark_created_s && a.granted_periods == b.granted_periods;
}

}  // namespace

pg::Statement load(const std::vector<std::string>& account_ids) {
  return {"subscriptions_load",
          "SELECT account_id, " SUBSCRIPTION_COLUMNS
          " FROM unnest($1::text[]) AS k(account_id) JOIN ledger_subscriptions USING (account_id)",
          {ledger::sql::text_array(account_ids)}};
}

void apply(const pg::Result& rows, ledger::AccountStates& states) {
  for (int i = 0; i < rows.rows(); ++i) {
    states.at(rows.string(i, 0)).subscription = parse(rows, i, 1);
  }
}

pg::Statement write(const std::vector<const ledger::AccountState*>& accounts, int64_t now_us) {
  assert(!accounts.empty());
  std::vector<std::string> ids, subscriptions, customers, statuses, plans, scheduled, periods;
  std::vector<int64_t> starts, ends, watermarks;
  std::vector<bool> cancels;
  for (const ledger::AccountState* account : accounts) {
    const ledger::SubscriptionState& s = account->subscription;
    assert(!s.subscription_id.empty());
    ids.push_back(account->account_id);
    subscriptions.push_back(s.subscription_id);
    customers.push_back(s.customer_id);
    statuses.push_back(s.status);
    plans.push_back(s.plan_id);
    scheduled.push_back(s.scheduled_plan_id);
    starts.push_back(s.period_start_s);
    ends.push_back(s.period_end_s);
    cancels.push_back(s.cancel_at_period_end);
    watermarks.push_back(s.watermark_created_s);
    periods.push_back(ledger::sql::text_array_literal(
        std::vector<std::string>(s.granted_periods.begin(), s.granted_periods.end())));
  }
  using namespace ledger::sql;
  return {"subscriptions_write",
          "INSERT INTO ledger_subscriptions (account_id, subscription_id, customer_id, status,"
          " plan_id, scheduled_plan_id, period_start_s, period_end_s, cancel_at_period_end,"
          " watermark_created_s, granted_periods, updated_at)"
          " SELECT a, s, c, st, p, sp, ps, pe, ca, w, g::text[], $12::timestamptz"
          " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
          " $7::bigint[], $8::bigint[], $9::bool[], $10::bigint[], $11::text[])"
          " AS x(a, s, c, st, p, sp, ps, pe, ca, w, g)"
          " ON CONFLICT (account_id) DO UPDATE SET subscription_id = EXCLUDED.subscription_id,"
          " customer_id = EXCLUDED.customer_id, status = EXCLUDED.status,"
          " plan_id = EXCLUDED.plan_id, scheduled_plan_id = EXCLUDED.scheduled_plan_id,"
          " period_start_s = EXCLUDED.period_start_s, period_end_s = EXCLUDED.period_end_s,"
          " cancel_at_period_end = EXCLUDED.cancel_at_period_end,"
          " watermark_created_s = EXCLUDED.watermark_created_s,"
          " granted_periods = EXCLUDED.granted_periods, updated_at = EXCLUDED.updated_at",
          {text_array(ids), text_array(subscriptions), text_array(customers), text_array(statuses),
           text_array(plans), text_array(scheduled), int64_array(starts), int64_array(ends),
           bool_array(cancels), int64_array(watermarks), text_array(periods),
           timestamp_literal(now_us)}};
}

pg::Statement clear() { return {"subscriptions_clear", "TRUNCATE ledger_subscriptions", {}}; }

std::string difference(const ledger::AccountState& projected, const ledger::AccountState& folded) {
  const bool has_row = !projected.subscription.subscription_id.empty();
  if (folded.subscription.subscription_id.empty()) {
    return has_row ? "subscription projection row without subscription events" : "";
  }
  if (!has_row) return "subscription projection row is missing";
  if (!same(projected.subscription, folded.subscription)) {
    return "subscription projection differs from the fold of its events";
  }
  return "";
}

SubscriptionView read_view(pg::Connection& connection, const std::string& account_id,
                           const std::string& default_plan_id) {
  const pg::Result rows = connection.exec(
      {"subscriptions_view",
       "SELECT coalesce(a.plan_id, s.plan_id, $2), s.subscription_id IS NOT NULL,"
       " s.subscription_id, s.customer_id, s.status, s.plan_id, s.scheduled_plan_id,"
       " s.period_start_s, s.period_end_s, s.cancel_at_period_end, s.watermark_created_s,"
       " s.granted_periods"
       " FROM (SELECT $1::text AS account_id) k"
       " LEFT JOIN ledger_accounts a USING (account_id)"
       " LEFT JOIN ledger_subscriptions s USING (account_id)",
       {account_id, default_plan_id}});
  assert(rows.rows() == 1);
  SubscriptionView view;
  view.plan_id = rows.string(0, 0);
  if (rows.boolean(0, 1)) view.subscription = parse(rows, 0, 2);
  return view;
}

std::string find_account(pg::Connection& connection, const std::string& subscription_id,
                         const std::string& customer_id) {
  const pg::Result rows = connection.exec(
      {"subscriptions_find_account",
       "SELECT account_id FROM ledger_subscriptions"
       " WHERE ($1 <> '' AND subscription_id = $1) OR ($2 <> '' AND customer_id = $2)"
       " ORDER BY (subscription_id = $1) DESC, updated_at DESC LIMIT 1",
       {subscription_id, customer_id}});
  return rows.rows() == 0 ? std::string() : rows.string(0, 0);
}

}  // namespace projections::subscriptions
