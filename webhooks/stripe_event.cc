// Stripe event parsing across API versions (see stripe_event.h).
#include "webhooks/stripe_event.h"

#include <rapidjson/document.h>

#include <cassert>

#include "webhooks/json_reader.h"

namespace webhooks {
namespace {

enum class ObjectKind { kOther, kCheckoutSession, kInvoice, kSubscription, kCharge };

ObjectKind object_kind(std::string_view type) {
  if (type == "checkout.session.completed" || type == "checkout.session.async_payment_succeeded") {
    return ObjectKind::kCheckoutSession;
  }
  if (type == "charge.refunded") return ObjectKind::kCharge;
  if (type == "invoice.paid" || type == "invoice.payment_failed") return ObjectKind::kInvoice;
  if (type == "customer.subscription.created" || type == "customer.subscription.updated" ||
      type == "customer.subscription.deleted") {
    return ObjectKind::kSubscription;
  }
  return ObjectKind::kOther;
}

StripeCheckoutSession read_checkout_session(JsonFieldReader& fields) {
  StripeCheckoutSession session;
  session.id = fields.required_string("id");
  session.client_reference_id = fields.id_text("client_reference_id");
  session.metadata_account_id = fields.id_text("metadata.account_id");
  session.metadata_plan_id = fields.string("metadata.plan_id");
  session.customer = fields.id("customer");
  session.subscription = fields.id("subscription");
  session.mode = fields.string("mode");
  session.payment_status = fields.string("payment_status");
  session.metadata_pack_id = fields.id_text("metadata.pack_id");
  session.payment_intent = fields.id("payment_intent");
  return session;
}

StripeCharge read_charge(JsonFieldReader& fields) {
  StripeCharge charge;
  charge.id = fields.required_string("id");
  charge.customer = fields.id("customer");
  charge.payment_intent = fields.id("payment_intent");
  charge.amount_minor = fields.int64("amount");
  charge.amount_refunded_minor = fields.int64("amount_refunded");
  charge.refunded = fields.boolean("refunded");
  charge.metadata_account_id = fields.id_text("metadata.account_id");
  charge.metadata_pack_id = fields.id_text("metadata.pack_id");
  return charge;
}

constexpr int kInvoiceLinesScannedMax = 20;

// The path prefix of the invoice line that describes the subscription's service: the first
// line that is not a proration ("Unused time on Pro" lines come first on upgrade invoices and
// carry the old price and a mid-period start). Pre-2025 lines say `proration`; 2025+ lines
// say `parent.subscription_item_details.proration`. Falls back to the first line.
std::string service_line(JsonFieldReader& fields) {
  for (int i = 0; i < kInvoiceLinesScannedMax; ++i) {
    const std::string line = "lines.data[" + std::to_string(i) + "].";
    if (fields.id(line + "id").empty()) break;
    if (!fields.boolean(line + "proration") &&
        !fields.boolean(line + "parent.subscription_item_details.proration")) {
      return line;
    }
  }
  return "lines.data[0].";
}

// The service period comes from the service line when it has one: an invoice's own
// period_start/period_end cover the previous period for subscription renewals.
void read_invoice_period(JsonFieldReader& fields, const std::string& line,
                         StripeInvoice& invoice) {
  const std::optional<int64_t> line_start_s = fields.int64(line + "period.start");
  const std::optional<int64_t> line_end_s = fields.int64(line + "period.end");
  if (line_start_s && line_end_s) {
    invoice.period_start_unix_s = line_start_s;
    invoice.period_end_unix_s = line_end_s;
    return;
  }
  invoice.period_start_unix_s = fields.int64("period_start");
  invoice.period_end_unix_s = fields.int64("period_end");
}

// Metadata lookup order: the invoice, its subscription (2025+ then pre-2025 location),
// then the first line (which carries the subscription's metadata in both shapes).
std::string read_invoice_metadata(JsonFieldReader& fields, std::string_view key) {
  const std::string suffix = "metadata." + std::string(key);
  return first_non_empty({
      fields.id_text(suffix),
      fields.id_text("parent.subscription_details." + suffix),
      fields.id_text("subscription_details." + suffix),
      fields.id_text("lines.data[0]." + suffix),
  });
}

StripeInvoice read_invoice(JsonFieldReader& fields) {
  StripeInvoice invoice;
  invoice.id = fields.required_string("id");
  invoice.customer = fields.id("customer");
  invoice.subscription = first_non_empty({
      fields.id("subscription"),
      fields.id("parent.subscription_details.subscription"),
      fields.id("lines.data[0].parent.subscription_item_details.subscription"),
  });
  invoice.billing_reason = fields.string("billing_reason");
  const std::string line = service_line(fields);
  read_invoice_period(fields, line, invoice);
  invoice.price_id = first_non_empty({
      fields.id(line + "price"),
      fields.id(line + "pricing.price_details.price"),
      fields.id(line + "plan"),
  });
  invoice.metadata_account_id = read_invoice_metadata(fields, "account_id");
  invoice.metadata_plan_id = read_invoice_metadata(fields, "plan_id");
  invoice.amount_paid_minor = fields.int64("amount_paid");
  invoice.currency = fields.string("currency");
  invoice.status = fields.string("status");
  return invoice;
}

StripeSubscription read_subscription(JsonFieldReader& fields) {
  StripeSubscription subscription;
  subscription.id = fields.required_string("id");
  subscription.customer = fields.id("customer");
  subscription.status = fields.string("status");
  subscription.cancel_at_period_end = fields.boolean("cancel_at_period_end");
  subscription.cancel_at_unix_s = fields.int64("cancel_at");
  subscription.canceled_at_unix_s = fields.int64("canceled_at");
  const std::optional<int64_t> top_start_s = fields.int64("current_period_start");
  const std::optional<int64_t> top_end_s = fields.int64("current_period_end");
  const std::optional<int64_t> item_start_s = fields.int64("items.data[0].current_period_start");
  const std::optional<int64_t> item_end_s = fields.int64("items.data[0].current_period_end");
  subscription.current_period_start_unix_s = top_start_s ? top_start_s : item_start_s;
  subscription.current_period_end_unix_s = top_end_s ? top_end_s : item_end_s;
  subscription.price_id =
      first_non_empty({fields.id("items.data[0].price"), fields.id("items.data[0].plan")});
  subscription.metadata_account_id = fields.id_text("metadata.account_id");
  subscription.metadata_plan_id = fields.string("metadata.plan_id");
  return subscription;
}

// Reads the type-specific part of `event` from data.object. Returns an error or "".
std::string read_object(const rapidjson::Value& object, StripeEvent& event) {
  JsonFieldReader fields(object, "data.object");
  switch (object_kind(event.type)) {
    case ObjectKind::kCheckoutSession:
      event.checkout = read_checkout_session(fields);
      break;
    case ObjectKind::kInvoice:
      event.invoice = read_invoice(fields);
      break;
    case ObjectKind::kSubscription:
      event.subscription = read_subscription(fields);
      break;
    case ObjectKind::kCharge:
      event.charge = read_charge(fields);
      break;
    case ObjectKind::kOther:
      event.object_id = fields.string("id");
      return fields.error();
  }
  event.object_id = fields.string("id");
  return fields.error();
}

}  // namespace

StripeEventParse parse_stripe_event(std::string_view raw_body) {
  rapidjson::Document document;
  if (std::string error = parse_bounded_json(raw_body, document); !error.empty()) return error;
  if (!document.IsObject()) return std::string("event: expected a JSON object");

  JsonFieldReader fields(document, "");
  StripeEvent event;
  event.id = fields.required_string("id");
  event.type = fields.required_string("type");
  const std::optional<int64_t> created_s = fields.required_int64("created");
  event.livemode = fields.boolean("livemode");
  const rapidjson::Value* object = fields.object("data.object");
  if (!fields.ok()) return fields.error();
  if (event.id.empty() || event.type.empty()) return std::string("id and type must be non-empty");
  if (*created_s < 0) return std::string("created: must not be negative");
  if (object == nullptr) return std::string("data.object: missing");
  event.created_unix_s = *created_s;

  if (std::string error = read_object(*object, event); !error.empty()) return error;
  assert(!event.checkout || !event.invoice);
  assert(!event.invoice || !event.subscription);
  return event;
}

}  // namespace webhooks
