// The plan catalog: allowances, per-feature pricing and Stripe price ids, loaded from the
// plans file (LEDGER_PLANS, default config/plans.json). Immutable once loaded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ledger {

// Price of one chunk of text: 1..base_words words cost base_credits; longer chunks cost
// proportionally more (see content/pricing).
struct PricingRule {
  int64_t base_words = 100;
  int64_t base_credits = 0;
};

struct Plan {
  std::string id;
  int64_t monthly_credits = 0;
  PricingRule humanize;
  PricingRule detect;
  std::string stripe_price_monthly;  // empty when the plan is not sold through Stripe
  std::string stripe_price_yearly;
  std::vector<std::string> currencies;  // lower-case ISO codes accepted at checkout
  // A reservation that takes credits_available from at or above this to below it queues
  // one email.low_balance (0: no alert).
  int64_t low_balance_threshold = 0;
};

// A one-off credit pack sold through Stripe Checkout (mode=payment).
struct Pack {
  std::string id;
  int64_t credits = 0;
  std::string stripe_price;
  std::vector<std::string> currencies;  // lower-case ISO codes accepted at checkout
  int64_t expires_after_days = 0;       // 0: the pack's credits never expire
};

class PlanCatalog {
 public:
  static constexpr std::string_view kFreePlanId = "free";

  // Parses the plans file's JSON text. Returns the catalog, or an error message naming the
  // offending plan and field (missing `free` plan, duplicate ids, negative credits, ...).
  static std::variant<PlanCatalog, std::string> parse(std::string_view json_text);
  // Reads and parses a plans file; an unreadable file is an error message too.
  static std::variant<PlanCatalog, std::string> load(const std::string& path);

  // Returns the plan with this id, or nullptr.
  const Plan* find(std::string_view plan_id) const;
  // Returns the plan sold under this Stripe price id (monthly or yearly), or nullptr.
  const Plan* find_by_stripe_price(std::string_view price_id) const;
  // The `free` plan; always present in a parsed catalog.
  const Plan& free_plan() const;
  const std::vector<Plan>& plans() const { return plans_; }
  // The pack with this id, or nullptr (the file's optional top-level "packs").
  const Pack* find_pack(std::string_view pack_id) const;
  const std::vector<Pack>& packs() const { return packs_; }

 private:
  std::vector<Plan> plans_;
  std::vector<Pack> packs_;
};

}  // namespace ledger
