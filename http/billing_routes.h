// The billing routes of ledgerd (DESIGN.md "Webhooks" and the API table):
//
//   POST /api/v1/billing/webhooks/stripe  (Stripe-Signature) verify the signature over the
//        raw body first (400 invalid_signature: nothing stored), parse (400 invalid_payload),
//        store the delivery in the inbox (a duplicate: 200 {received, duplicate: true},
//        nothing changes; the database unreachable: 503, so Stripe retries), then process it
//        at once, best effort: 200 {received, duplicate: false, status, note} whatever the
//        processing did (parked and failed-for-now deliveries are retried by the inbox loop).
//   POST /api/v1/billing/webhooks/churnkey (HMAC-SHA256 hex of the raw body in
//        ServerOptions::churnkey_signature_header, "sha256=" prefix allowed, any of the
//        comma-separated CHURNKEY_WEBHOOK_SECRET; unset: every delivery refused) 401
//        invalid_signature (nothing stored), else as the Stripe route: 400 invalid_payload,
//        200 duplicate, or stored and processed (webhooks/stripe_inbox.h).
//   POST /api/v1/integrations/shopify/webhook (X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of
//        the raw body with any of the comma-separated SHOPIFY_WEBHOOK_SECRET; unset: every
//        delivery refused) 401 invalid_signature; 400 invalid_request {field} for a missing
//        or malformed X-Shopify-Topic / -Shop-Domain (<name>.myshopify.com) / -Webhook-Id /
//        -Event-Id; 400 invalid_payload; 400 shop_mismatch when the signed body names another
//        shop than the header (app/uninstalled must name it); 200 duplicate (same webhook
//        id); else stored for the shop's account "shop:<domain>" and answered 200
//        {received, duplicate: false, status: "pending"} at once: the inbox loop applies it.
//   GET  /api/v1/billing/subscription      (user) the account's subscription.
//   POST /api/v1/billing/checkout          (user) a Stripe Checkout Session for a plan.
//
// Authentication and rate limiting of the user routes happen before, in
// LedgerService::billing_route.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "http/json_reply.h"
#include "http/service.h"
#include "integrations/stripe_client.h"
#include "ledger/plans.h"
#include "usecases/checkout.h"
#include "webhooks/signature.h"
#include "webhooks/stripe_inbox.h"

namespace http {

struct BillingSettings {
  std::string database_url;
  std::string stripe_webhook_secrets;  // STRIPE_WEBHOOK_SECRET: comma-separated (rotation)
  std::string churnkey_webhook_secrets;  // CHURNKEY_WEBHOOK_SECRET: comma-separated
  std::string shopify_webhook_secrets;   // SHOPIFY_WEBHOOK_SECRET: comma-separated
  integrations::StripeClientSettings stripe;
  std::string checkout_success_url;
  std::string checkout_cancel_url;
  int64_t retry_after_s = 5;  // Of the 503 when Stripe is unavailable.
};

class BillingRoutes {
 public:
  // `plans` and `inbox` must outlive the routes.
  BillingRoutes(BillingSettings settings, const ledger::PlanCatalog& plans,
                const webhooks::StripeInbox& inbox);

  // POST /api/v1/billing/webhooks/stripe, as described above. Database errors while
  // storing propagate (LedgerService maps them to 503). Thread-safe.
  HttpReply stripe_webhook(const IncomingRequest& request, RequestLog& log) const;
  // POST /api/v1/billing/webhooks/churnkey, as described above. Thread-safe.
  HttpReply churnkey_webhook(const IncomingRequest& request, RequestLog& log) const;
  // POST /api/v1/integrations/shopify/webhook, as described above. Thread-safe.
  HttpReply shopify_webhook(const IncomingRequest& request, RequestLog& log) const;

  // GET /api/v1/billing/subscription for `account_id`: 200 {plan, status,
  // current_period_end (RFC 3339 or null), cancel_at_period_end, scheduled_plan,
  // stripe_customer_id, stripe_subscription_id}; an account without a subscription has
  // status "none", its balance's plan (or "free" when never opened) and nulls.
  HttpReply subscription(const std::string& account_id) const;

  // POST /api/v1/billing/checkout {plan_id, billing_cycle: monthly|yearly, currency} or
  // {pack_id, currency} for `account_id` (usecases::start_checkout): 200 {checkout_url,
  // session_id}. The Idempotency-Key sent to Stripe is
  // derived from the account and the client's Idempotency-Key header (so two accounts never
  // share a Stripe key), or random without one. Errors: 400 invalid_json / invalid_request
  // {field} / invalid_idempotency_key / unknown_plan / plan_not_purchasable (free, or no
  // Stripe price) / invalid_billing_cycle / unknown_pack / unsupported_currency; 409
  // idempotency_conflict (the same key with another plan or cycle); 502 payment_provider_error
  // {provider_code} (Stripe refused: its error.code, else its error.type); 503 service_unavailable
  // {retry_after} (Stripe timed out, unreachable, 5xx or 429, or no STRIPE_API_KEY).
  HttpReply checkout(const std::string& account_id, const IncomingRequest& request,
                     RequestLog& log) const;

  // The Stripe Idempotency-Key of a checkout with the client key `client_key`.
  static std::string checkout_idempotency_key(const std::string& account_id,
                                              const std::string& client_key);

 private:
  const BillingSettings settings_;
  const ledger::PlanCatalog& plans_;
  const webhooks::StripeInbox& inbox_;
  const webhooks::StripeSignatureVerifier verifier_;
  const std::vector<std::string> churnkey_secrets_;
  const std::vector<std::string> shopify_secrets_;
  const integrations::StripeClient stripe_;
};

}  // namespace http
