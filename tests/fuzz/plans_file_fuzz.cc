// Fuzz target: the plans file parser (ledger::PlanCatalog::parse, ledger/plans.h).
//
// Input: the text of a plans file.
//
// Properties:
// - an error is a non-empty, valid UTF-8 message;
// - a parsed catalog has a free plan, distinct ids of 1..64 bytes, allowances and prices in
//   their ranges, lower-case three-letter currencies, currencies for every plan sold, and
//   every Stripe price leads back to its own plan;
// - every string holds exactly the file's value (no truncation) and is storable text
//   (valid UTF-8, no NUL);
// - the catalog written back as a plans file parses to the same catalog.
#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "ledger/json_fields.h"
#include "ledger/plans.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using fuzz::begin_object;
using ledger::Plan;
using ledger::PlanCatalog;
using ledger::PricingRule;
using ledger::json::put;

void put_rule(ledger::json::Writer& writer, const char* feature, const PricingRule& rule) {
  begin_object(writer, feature);
  put(writer, "base_words", rule.base_words);
  put(writer, "base_credits", rule.base_credits);
  writer.EndObject();
}

void write_plan(ledger::json::Writer& writer, const Plan& plan) {
  writer.StartObject();
  put(writer, "id", plan.id);
  put(writer, "monthly_credits", plan.monthly_credits);
  begin_object(writer, "pricing");
  put_rule(writer, "humanize", plan.humanize);
  put_rule(writer, "detect", plan.detect);
  writer.EndObject();
  if (!plan.stripe_price_monthly.empty() || !plan.stripe_price_yearly.empty()) {
    begin_object(writer, "stripe_prices");
    if (!plan.stripe_price_monthly.empty()) put(writer, "monthly", plan.stripe_price_monthly);
    if (!plan.stripe_price_yearly.empty()) put(writer, "yearly", plan.stripe_price_yearly);
    writer.EndObject();
  }
  writer.Key("currencies");
  writer.StartArray();
  for (const std::string& currency : plan.currencies) {
    writer.String(currency.data(), static_cast<rapidjson::SizeType>(currency.size()));
  }
  writer.EndArray();
  writer.EndObject();
}

std::string write_catalog(const PlanCatalog& catalog) {
  return fuzz::write_json([&](ledger::json::Writer& writer) {
    writer.StartObject();
    writer.Key("plans");
    writer.StartArray();
    for (const Plan& plan : catalog.plans()) write_plan(writer, plan);
    writer.EndArray();
    writer.EndObject();
  });
}

bool is_in_range(const PricingRule& rule) {
  return rule.base_words >= 1 && rule.base_words <= 10'000 && rule.base_credits >= 1 &&
         rule.base_credits <= 1'000'000;
}

bool is_currency_code(std::string_view code) {
  return code.size() == 3 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

void check_plan(const PlanCatalog& catalog, const Plan& plan) {
  FUZZ_REQUIRE(!plan.id.empty() && plan.id.size() <= 64 && fuzz::is_storable_text(plan.id));
  FUZZ_REQUIRE(catalog.find(plan.id) == &plan);
  FUZZ_REQUIRE(plan.monthly_credits >= 0 && plan.monthly_credits <= 1'000'000'000);
  FUZZ_REQUIRE(is_in_range(plan.humanize) && is_in_range(plan.detect));
  FUZZ_REQUIRE(std::all_of(plan.currencies.begin(), plan.currencies.end(),
                           [](const std::string& code) { return is_currency_code(code); }));
  for (const std::string* price : {&plan.stripe_price_monthly, &plan.stripe_price_yearly}) {
    FUZZ_REQUIRE(fuzz::is_storable_text(*price));
    if (price->empty()) continue;
    FUZZ_REQUIRE(catalog.find_by_stripe_price(*price) == &plan);
    FUZZ_REQUIRE(!plan.currencies.empty());
  }
}

// The file's own string at `object[key]`, or "" when absent or not a string.
std::string_view file_string(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return {};
  const auto member = object.FindMember(key);
  if (member == object.MemberEnd() || !member->value.IsString()) return {};
  return {member->value.GetString(), member->value.GetStringLength()};
}

// Every id, price and currency is the file's value in full.
void check_matches_file(const PlanCatalog& catalog, std::string_view json) {
  rapidjson::Document file;
  file.Parse(json.data(), json.size());
  FUZZ_REQUIRE(!file.HasParseError() && file["plans"].Size() == catalog.plans().size());
  for (rapidjson::SizeType i = 0; i < file["plans"].Size(); ++i) {
    const rapidjson::Value& value = file["plans"][i];
    const Plan& plan = catalog.plans()[i];
    FUZZ_REQUIRE(plan.id == file_string(value, "id"));
    const auto prices = value.FindMember("stripe_prices");
    if (prices != value.MemberEnd()) {
      FUZZ_REQUIRE(plan.stripe_price_monthly == file_string(prices->value, "monthly"));
      FUZZ_REQUIRE(plan.stripe_price_yearly == file_string(prices->value, "yearly"));
    }
    for (std::size_t c = 0; c < plan.currencies.size(); ++c) {
      const rapidjson::Value& code = value["currencies"][static_cast<rapidjson::SizeType>(c)];
      FUZZ_REQUIRE(plan.currencies[c] ==
                   std::string_view(code.GetString(), code.GetStringLength()));
    }
  }
}

void check_catalog(const PlanCatalog& catalog, std::string_view json) {
  FUZZ_REQUIRE(catalog.find(PlanCatalog::kFreePlanId) == &catalog.free_plan());
  for (const Plan& plan : catalog.plans()) check_plan(catalog, plan);
  check_matches_file(catalog, json);
  const std::string written = write_catalog(catalog);
  const auto again = PlanCatalog::parse(written);
  FUZZ_REQUIRE(std::holds_alternative<PlanCatalog>(again));
  FUZZ_REQUIRE(write_catalog(std::get<PlanCatalog>(again)) == written);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view json = fuzz::as_text(data, size);
  const auto parsed = PlanCatalog::parse(json);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    FUZZ_REQUIRE(!error->empty() && fuzz::is_valid_utf8(*error));
    return 0;
  }
  check_catalog(std::get<PlanCatalog>(parsed), json);
  return 0;
}
