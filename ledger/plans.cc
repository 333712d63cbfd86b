// Parsing and validation of the plans file (ledger/plans.h).
#include "ledger/plans.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "ledger/json_fields.h"
#include "unicode/json_text.h"

namespace ledger {
namespace {

constexpr int64_t kMonthlyCreditsMax = 1'000'000'000;

std::optional<std::string> parse_rule(const rapidjson::Value& pricing, const char* feature,
                                      PricingRule& rule) {
  const auto member = pricing.FindMember(feature);
  if (member == pricing.MemberEnd() || !member->value.IsObject()) {
    return std::string("pricing.") + feature + " must be an object";
  }
  const auto words = json::get_int64(member->value, "base_words");
  const auto credits = json::get_int64(member->value, "base_credits");
  if (!words || *words < 1 || *words > 10'000) {
    return std::string("pricing.") + feature + ".base_words must be an integer in 1..10000";
  }
  if (!credits || *credits < 1 || *credits > 1'000'000) {
    return std::string("pricing.") + feature + ".base_credits must be an integer in 1..1000000";
  }
  rule = PricingRule{*words, *credits};
  return std::nullopt;
}

bool is_currency_code(const std::string& code) {
  return code.size() == 3 && std::all_of(code.begin(), code.end(),
                                         [](char c) { return c >= 'a' && c <= 'z'; });
}

// `stripe_prices` {monthly, yearly} (strings, at least one) and the `currencies` sold.
std::optional<std::string> parse_stripe_prices(const rapidjson::Value& value, Plan& plan) {
  const auto prices = value.FindMember("stripe_prices");
  if (prices != value.MemberEnd()) {
    if (!prices->value.IsObject()) return "stripe_prices must be an object";
    for (const auto& [cycle, target] : {std::pair{"monthly", &plan.stripe_price_monthly},
                                        std::pair{"yearly", &plan.stripe_price_yearly}}) {
      const auto member = prices->value.FindMember(cycle);
      if (member == prices->value.MemberEnd()) continue;
      if (!member->value.IsString() || member->value.GetStringLength() == 0) {
        return std::string("stripe_prices.") + cycle + " must be a non-empty string";
      }
      *target = member->value.GetString();
    }
    if (plan.stripe_price_monthly.empty() && plan.stripe_price_yearly.empty()) {
      return "stripe_prices needs a monthly or yearly price";
    }
  }
  const auto currencies = value.FindMember("currencies");
  if (currencies != value.MemberEnd()) {
    if (!currencies->value.IsArray()) return "currencies must be an array";
    for (const auto& currency : currencies->value.GetArray()) {
      if (!currency.IsString() || !is_currency_code(currency.GetString())) {
        return "currencies must be lower-case three-letter ISO codes";
      }
      plan.currencies.emplace_back(currency.GetString());
    }
  }
  const bool sold = !plan.stripe_price_monthly.empty() || !plan.stripe_price_yearly.empty();
  if (sold && plan.currencies.empty()) return "a plan sold through Stripe must list currencies";
  return std::nullopt;
}

std::optional<std::string> parse_plan(const rapidjson::Value& value, Plan& plan) {
  if (!value.IsObject()) return "each plan must be an object";
  const auto id = json::get_string(value, "id");
  if (!id || id->empty() || id->size() > 64) return "each plan needs a string id (1..64 chars)";
  plan.id = *id;
  const auto credits = json::get_int64(value, "monthly_credits");
  if (!credits || *credits < 0 || *credits > kMonthlyCreditsMax) {
    return "plan " + plan.id + ": monthly_credits must be an integer in 0..1000000000";
  }
  plan.monthly_credits = *credits;
  if (const auto threshold = value.FindMember("low_balance_threshold");
      threshold != value.MemberEnd()) {
    if (!threshold->value.IsInt64() || threshold->value.GetInt64() < 0 ||
        threshold->value.GetInt64() > kMonthlyCreditsMax) {
      return "plan " + plan.id + ": low_balance_threshold must be an integer in 0..1000000000";
    }
    plan.low_balance_threshold = threshold->value.GetInt64();
  }
  const auto pricing = value.FindMember("pricing");
  if (pricing == value.MemberEnd() || !pricing->value.IsObject()) {
    return "plan " + plan.id + ": pricing must be an object";
  }
  if (auto error = parse_rule(pricing->value, "humanize", plan.humanize)) {
    return "plan " + plan.id + ": " + *error;
  }
  if (auto error = parse_rule(pricing->value, "detect", plan.detect)) {
    return "plan " + plan.id + ": " + *error;
  }
  if (auto error = parse_stripe_prices(value, plan)) return "plan " + plan.id + ": " + *error;
  return std::nullopt;
}

constexpr int64_t kPackDaysMax = 3'650;

// One entry of "packs": {"id", "credits", "stripe_price", "currencies", "expires_after_days"?}.
std::optional<std::string> parse_pack(const rapidjson::Value& value, Pack& pack) {
  if (!value.IsObject()) return "each pack must be an object";
  const auto id = json::get_string(value, "id");
  if (!id || id->empty() || id->size() > 64) return "each pack needs a string id (1..64 chars)";
  pack.id = *id;
  const auto credits = json::get_int64(value, "credits");
  if (!credits || *credits < 1 || *credits > kMonthlyCreditsMax) {
    return "pack " + pack.id + ": credits must be an integer in 1..1000000000";
  }
  pack.credits = *credits;
  const auto price = json::get_string(value, "stripe_price");
  if (!price || price->empty())
    return "pack " + pack.id + ": stripe_price must be a non-empty string";
  pack.stripe_price = *price;
  const auto currencies = value.FindMember("currencies");
  if (currencies == value.MemberEnd() || !currencies->value.IsArray() ||
      currencies->value.Empty()) {
    return "pack " + pack.id + ": currencies must be a non-empty array";
  }
  for (const auto& currency : currencies->value.GetArray()) {
    if (!currency.IsString() || !is_currency_code(currency.GetString())) {
      return "pack " + pack.id + ": currencies must be lower-case three-letter ISO codes";
    }
    pack.currencies.emplace_back(currency.GetString());
  }
  if (value.HasMember("expires_after_days")) {
    const auto days = json::get_int64(value, "expires_after_days");
    if (!days || *days < 1 || *days > kPackDaysMax) {
      return "pack " + pack.id + ": expires_after_days must be an integer in 1..3650";
    }
    pack.expires_after_days = *days;
  }
  return std::nullopt;
}

}  // namespace

std::variant<PlanCatalog, std::string> PlanCatalog::parse(std::string_view json_text) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(json_text.data(), json_text.size());
  if (document.HasParseError()) return std::string("plans file is not valid JSON in UTF-8");
  // Plan ids and prices reach events, replies and this function's own error messages.
  if (!unicode::json_strings_are_storable(document)) {
    return std::string("plans file holds a string with a lone surrogate escape or a NUL");
  }
  if (!document.IsObject() || !document.HasMember("plans") || !document["plans"].IsArray()) {
    return std::string("plans file must be an object with a \"plans\" array");
  }
  PlanCatalog catalog;
  std::set<std::string> ids;
  std::set<std::string> prices;
  for (const auto& value : document["plans"].GetArray()) {
    Plan plan;
    if (auto error = parse_plan(value, plan)) return *error;
    if (!ids.insert(plan.id).second) return "duplicate plan id " + plan.id;
    for (const std::string* price : {&plan.stripe_price_monthly, &plan.stripe_price_yearly}) {
      if (!price->empty() && !prices.insert(*price).second) {
        return "plan " + plan.id + ": stripe price " + *price + " is used twice";
      }
    }
    catalog.plans_.push_back(std::move(plan));
  }
  if (catalog.find(kFreePlanId) == nullptr) return std::string("plans file must define a free plan");
  if (const auto packs = document.FindMember("packs"); packs != document.MemberEnd()) {
    if (!packs->value.IsArray()) return std::string("\"packs\" must be an array");
    std::set<std::string> pack_ids;
    for (const auto& value : packs->value.GetArray()) {
      Pack pack;
      if (auto error = parse_pack(value, pack)) return *error;
      if (!pack_ids.insert(pack.id).second) return "duplicate pack id " + pack.id;
      if (!prices.insert(pack.stripe_price).second) {
        return "pack " + pack.id + ": stripe price " + pack.stripe_price + " is used twice";
      }
      catalog.packs_.push_back(std::move(pack));
    }
  }
  return catalog;
}

std::variant<PlanCatalog, std::string> PlanCatalog::load(const std::string& path) {
  std::ifstream file(path);
  if (!file) return "cannot read plans file " + path;
  std::stringstream text;
  text << file.rdbuf();
  auto parsed = parse(text.str());
  if (auto* error = std::get_if<std::string>(&parsed)) return path + ": " + *error;
  return parsed;
}

const Plan* PlanCatalog::find(std::string_view plan_id) const {
  for (const Plan& plan : plans_) {
    if (plan.id == plan_id) return &plan;
  }
  return nullptr;
}

const Pack* PlanCatalog::find_pack(std::string_view pack_id) const {
  for (const Pack& pack : packs_) {
    if (pack.id == pack_id) return &pack;
  }
  return nullptr;
}

const Plan* PlanCatalog::find_by_stripe_price(std::string_view price_id) const {
  if (price_id.empty()) return nullptr;
  for (const Plan& plan : plans_) {
    if (plan.stripe_price_monthly == price_id || plan.stripe_price_yearly == price_id) return &plan;
  }
  return nullptr;
}

const Plan& PlanCatalog::free_plan() const {
  const Plan* plan = find(kFreePlanId);
  if (plan == nullptr) throw std::logic_error("plan catalog without a free plan");
  return *plan;
}

}  // namespace ledger
