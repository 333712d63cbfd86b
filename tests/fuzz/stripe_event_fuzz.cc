// Fuzz target: the Stripe event parser (webhooks/stripe_event.h) and, for the handled types,
// the mapping to the ledger's billing command (webhooks/stripe_billing.h).
//
// Input: a webhook body (already verified, as the parser receives it).
//
// Properties:
// - an error is a non-empty, valid UTF-8 description;
// - a parsed event has a non-empty id and type, created >= 0, and exactly the object its
//   type calls for;
// - every string the parser returns is storable text (valid UTF-8, no NUL);
// - the event written back as a Stripe body, in the pre-2025 shape and in the 2025+
//   ("basil") shape, parses to the same event;
// - the mapping of a handled type names a valid account or none, ignores only for the known
//   reasons, and resolves to a plan of the catalog or to none.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ledger/json_fields.h"
#include "ledger/plans.h"
#include "tests/fuzz/fuzz_support.h"
#include "webhooks/stripe_billing.h"
#include "webhooks/stripe_event.h"

namespace {

using fuzz::begin_object;
using ledger::json::put;
using namespace std::string_view_literals;  // put() of a const char* would write a bool
using webhooks::StripeEvent;
using Writer = ledger::json::Writer;

enum class Shape { kPre2025, kBasil };

// The shipped config/plans.json, trimmed to what a mapping reads.
constexpr std::string_view kPlansJson = R"({"plans": [
  {"id": "free", "monthly_credits": 300, "pricing": {
     "humanize": {"base_words": 100, "base_credits": 40},
     "detect": {"base_words": 100, "base_credits": 10}}},
  {"id": "pro", "monthly_credits": 10000, "pricing": {
     "humanize": {"base_words": 100, "base_credits": 30},
     "detect": {"base_words": 100, "base_credits": 8}},
   "stripe_prices": {"monthly": "price_pro_monthly", "yearly": "price_pro_yearly"},
   "currencies": ["usd", "eur"]}]})";

const ledger::PlanCatalog& plans() {
  static const ledger::PlanCatalog catalog =
      std::get<ledger::PlanCatalog>(ledger::PlanCatalog::parse(kPlansJson));
  return catalog;
}

// --- Writing an event back as a Stripe body --------------------------------------------

void put_optional(Writer& writer, const char* key, const std::optional<int64_t>& value) {
  if (value) put(writer, key, *value);
}

// Stripe's list objects: `key: {"data": [{...}]}` with one item, closed by end_only_item.
void begin_only_item(Writer& writer, const char* key) {
  begin_object(writer, key);
  writer.Key("data");
  writer.StartArray();
  writer.StartObject();
}

void end_only_item(Writer& writer) {
  writer.EndObject();
  writer.EndArray();
  writer.EndObject();
}

void put_metadata(Writer& writer, const std::string& account_id, const std::string& plan_id) {
  begin_object(writer, "metadata");
  put(writer, "account_id", account_id);
  put(writer, "plan_id", plan_id);
  writer.EndObject();
}

// A reference as Stripe sends it: the id, or (basil here) the expanded object.
void put_reference(Writer& writer, const char* key, const std::string& id, Shape shape) {
  if (shape == Shape::kPre2025) return put(writer, key, id);
  begin_object(writer, key);
  put(writer, "id", id);
  writer.EndObject();
}

void write_checkout(Writer& writer, const webhooks::StripeCheckoutSession& session, Shape shape) {
  put(writer, "id", session.id);
  put(writer, "object", "checkout.session"sv);
  put(writer, "client_reference_id", session.client_reference_id);
  put_metadata(writer, session.metadata_account_id, session.metadata_plan_id);
  put_reference(writer, "customer", session.customer, shape);
  put_reference(writer, "subscription", session.subscription, shape);
  put(writer, "mode", session.mode);
  put(writer, "payment_status", session.payment_status);
}

void write_invoice_line(Writer& writer, const webhooks::StripeInvoice& invoice, Shape shape) {
  begin_only_item(writer, "lines");
  if (invoice.period_start_unix_s && invoice.period_end_unix_s) {
    begin_object(writer, "period");
    put(writer, "start", *invoice.period_start_unix_s);
    put(writer, "end", *invoice.period_end_unix_s);
    writer.EndObject();
  }
  if (shape == Shape::kPre2025) {
    put_reference(writer, "price", invoice.price_id, shape);
  } else {
    begin_object(writer, "pricing");
    begin_object(writer, "price_details");
    put(writer, "price", invoice.price_id);
    writer.EndObject();
    writer.EndObject();
  }
  end_only_item(writer);
}

void write_invoice(Writer& writer, const webhooks::StripeInvoice& invoice, Shape shape) {
  put(writer, "id", invoice.id);
  put(writer, "object", "invoice"sv);
  put_reference(writer, "customer", invoice.customer, shape);
  put(writer, "billing_reason", invoice.billing_reason);
  if (!(invoice.period_start_unix_s && invoice.period_end_unix_s)) {
    put_optional(writer, "period_start", invoice.period_start_unix_s);
    put_optional(writer, "period_end", invoice.period_end_unix_s);
  }
  write_invoice_line(writer, invoice, shape);
  put_optional(writer, "amount_paid", invoice.amount_paid_minor);
  put(writer, "currency", invoice.currency);
  put(writer, "status", invoice.status);
  if (shape == Shape::kPre2025) {
    put(writer, "subscription", invoice.subscription);
    put_metadata(writer, invoice.metadata_account_id, invoice.metadata_plan_id);
    return;
  }
  begin_object(writer, "parent");
  begin_object(writer, "subscription_details");
  put(writer, "subscription", invoice.subscription);
  put_metadata(writer, invoice.metadata_account_id, invoice.metadata_plan_id);
  writer.EndObject();
  writer.EndObject();
}

// Pre-2025 at the top of the subscription, 2025+ on its item.
void put_current_period(Writer& writer, const webhooks::StripeSubscription& subscription) {
  put_optional(writer, "current_period_start", subscription.current_period_start_unix_s);
  put_optional(writer, "current_period_end", subscription.current_period_end_unix_s);
}

void write_subscription(Writer& writer, const webhooks::StripeSubscription& subscription,
                        Shape shape) {
  put(writer, "id", subscription.id);
  put(writer, "object", "subscription"sv);
  put_reference(writer, "customer", subscription.customer, shape);
  put(writer, "status", subscription.status);
  put(writer, "cancel_at_period_end", subscription.cancel_at_period_end);
  put_optional(writer, "cancel_at", subscription.cancel_at_unix_s);
  put_optional(writer, "canceled_at", subscription.canceled_at_unix_s);
  put_metadata(writer, subscription.metadata_account_id, subscription.metadata_plan_id);
  if (shape == Shape::kPre2025) put_current_period(writer, subscription);
  begin_only_item(writer, "items");
  put_reference(writer, "price", subscription.price_id, shape);
  if (shape == Shape::kBasil) put_current_period(writer, subscription);
  end_only_item(writer);
}

std::string write_event(const StripeEvent& event, Shape shape) {
  return fuzz::write_json([&](ledger::json::Writer& writer) {
    writer.StartObject();
    put(writer, "id", event.id);
    put(writer, "object", "event"sv);
    put(writer, "api_version", shape == Shape::kBasil ? "2025-03-31.basil"sv : "2024-06-20"sv);
    put(writer, "type", event.type);
    put(writer, "created", event.created_unix_s);
    put(writer, "livemode", event.livemode);
    begin_object(writer, "data");
    begin_object(writer, "object");
    if (event.checkout) {
      write_checkout(writer, *event.checkout, shape);
    } else if (event.invoice) {
      write_invoice(writer, *event.invoice, shape);
    } else if (event.subscription) {
      write_subscription(writer, *event.subscription, shape);
    } else if (!event.object_id.empty()) {
      put(writer, "id", event.object_id);
    }
    writer.EndObject();
    writer.EndObject();
    writer.EndObject();
  });
}

// --- Properties -------------------------------------------------------------------------

std::vector<std::string_view> strings_of(const StripeEvent& event) {
  std::vector<std::string_view> strings = {event.id, event.type, event.object_id};
  if (const auto& s = event.checkout) {
    strings.insert(strings.end(),
                   {s->id, s->client_reference_id, s->metadata_account_id, s->metadata_plan_id,
                    s->customer, s->subscription, s->mode, s->payment_status});
  }
  if (const auto& i = event.invoice) {
    strings.insert(strings.end(),
                   {i->id, i->customer, i->subscription, i->billing_reason, i->price_id,
                    i->metadata_account_id, i->metadata_plan_id, i->currency, i->status});
  }
  if (const auto& s = event.subscription) {
    strings.insert(strings.end(), {s->id, s->customer, s->status, s->price_id,
                                   s->metadata_account_id, s->metadata_plan_id});
  }
  return strings;
}

bool has_object_for_type(const StripeEvent& event) {
  const std::string_view type = event.type;
  const int objects =
      event.checkout.has_value() + event.invoice.has_value() + event.subscription.has_value();
  if (type == "checkout.session.completed") return objects == 1 && event.checkout;
  if (type == "invoice.paid" || type == "invoice.payment_failed") {
    return objects == 1 && event.invoice;
  }
  if (type == "customer.subscription.created" || type == "customer.subscription.updated" ||
      type == "customer.subscription.deleted") {
    return objects == 1 && event.subscription;
  }
  return objects == 0;
}

void check_mapping(const StripeEvent& event) {
  if (!webhooks::is_handled_stripe_event_type(event.type)) return;
  const webhooks::StripeBillingMapping mapping = webhooks::map_stripe_event(event);
  FUZZ_REQUIRE(mapping.account_hint.empty() ||
               webhooks::is_valid_stripe_account_hint(mapping.account_hint));
  const std::string& reason = mapping.ignore_reason;
  FUZZ_REQUIRE(reason.empty() || reason == "checkout_not_a_subscription" ||
               reason == "checkout_unpaid" || reason == "invoice_without_subscription");
  const std::string plan_id = webhooks::resolve_stripe_plan(mapping, plans());
  FUZZ_REQUIRE(plan_id.empty() || plans().find(plan_id) != nullptr);
  if (const ledger::Plan* by_price = plans().find_by_stripe_price(mapping.price_id)) {
    FUZZ_REQUIRE(plan_id == by_price->id);
  }
}

void check_event(const StripeEvent& event) {
  FUZZ_REQUIRE(!event.id.empty() && !event.type.empty() && event.created_unix_s >= 0);
  FUZZ_REQUIRE(has_object_for_type(event));
  for (const std::string_view text : strings_of(event)) FUZZ_REQUIRE(fuzz::is_storable_text(text));
  for (const Shape shape : {Shape::kPre2025, Shape::kBasil}) {
    const webhooks::StripeEventParse again =
        webhooks::parse_stripe_event(write_event(event, shape));
    FUZZ_REQUIRE(std::holds_alternative<StripeEvent>(again));
    FUZZ_REQUIRE(std::get<StripeEvent>(again) == event);
  }
  check_mapping(event);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const webhooks::StripeEventParse parsed = webhooks::parse_stripe_event(fuzz::as_text(data, size));
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    FUZZ_REQUIRE(!error->empty() && fuzz::is_valid_utf8(*error));
    return 0;
  }
  check_event(std::get<StripeEvent>(parsed));
  return 0;
}
