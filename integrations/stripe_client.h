// The outgoing Stripe API client: creates Checkout Sessions (POST /v1/checkout/sessions) and
// sets cancel_at_period_end on subscriptions (POST /v1/subscriptions/{id}), form-encoded,
// `Authorization: Bearer <secret key>`, `Idempotency-Key`, through the one HTTP wrapper
// (integrations/http_client.h), and sorts Stripe's answers into a result, a rejection
// (Stripe's 4xx with its error type and code) or unavailability (timeouts, connection
// failures, 5xx, 429). Never called inside a database transaction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "integrations/http_client.h"

namespace integrations {

struct StripeClientSettings {
  std::string api_base = "https://api.stripe.com";  // STRIPE_API_BASE (tests: loopback)
  std::string api_key;                              // STRIPE_API_KEY; empty: not configured
  long connect_timeout_ms = 3'000;
  long timeout_ms = 15'000;
};

// The parameters of one subscription Checkout Session.
struct CheckoutSessionParams {
  std::string price_id;
  std::string account_id;   // client_reference_id and both metadata[account_id]
  std::string plan_id;      // both metadata[plan_id] (a subscription checkout)
  // A pack checkout instead (plan_id empty): mode=payment, metadata[pack_id] on the session
  // and its payment intent.
  std::string pack_id;
  std::string customer_id;  // `customer`, sent only when non-empty (a returning customer)
  std::string success_url;
  std::string cancel_url;
  std::string idempotency_key;  // the Idempotency-Key header; required
};

struct CheckoutSession {
  std::string id;
  std::string url;
};

struct StripeFailure {
  enum class Kind {
    kRejected,     // Stripe answered 4xx (but 429): the request is wrong; retrying won't help.
    kUnavailable,  // Timeout, connection failure, 5xx or 429: try again later.
    kBadResponse,  // 2xx without a usable result (a session without id or url), or a
                   // status Stripe does not send: Stripe's answer is wrong.
  };
  Kind kind = Kind::kUnavailable;
  long status = 0;     // HTTP status when an answer arrived, else 0.
  std::string type;    // Stripe's error.type, e.g. "invalid_request_error" ("" when absent).
  std::string code;    // Stripe's error.code, e.g. "resource_missing" ("" when absent).
  std::string detail;  // For logs: Stripe's error.message or the transport error.
};

using CheckoutSessionResult = std::variant<CheckoutSession, StripeFailure>;

class StripeClient {
 public:
  explicit StripeClient(StripeClientSettings settings);

  // True when an API key is configured.
  bool configured() const { return !settings_.api_key.empty(); }

  // Creates a Checkout Session in subscription mode for one unit of `params.price_id`.
  // Blocking, bounded by the settings' timeouts. Precondition: configured(), and the ids,
  // URLs and idempotency key of `params` are non-empty (but customer_id).
  CheckoutSessionResult create_checkout_session(const CheckoutSessionParams& params) const;

  // Sets cancel_at_period_end=true on the subscription (POST
  // /v1/subscriptions/{subscription_id}, form-encoded, with `idempotency_key`). Returns
  // nullopt once Stripe answered 2xx, else the failure (kRejected for a 4xx but 429, or for
  // a subscription id that is not a Stripe id). Blocking, bounded by the timeouts.
  // Precondition: configured() and a non-empty key.
  std::optional<StripeFailure> cancel_at_period_end(const std::string& subscription_id,
                                                    const std::string& idempotency_key) const;

  // The form fields of create_checkout_session, in the order sent.
  static std::vector<std::pair<std::string, std::string>> checkout_session_form(
      const CheckoutSessionParams& params);

 private:
  // POSTs `form` to `path`: the 2xx response, or the failure.
  std::variant<HttpResponse, StripeFailure> post_form(
      std::string_view path, const std::vector<std::pair<std::string, std::string>>& form,
      const std::string& idempotency_key) const;

  const StripeClientSettings settings_;
};

}  // namespace integrations
