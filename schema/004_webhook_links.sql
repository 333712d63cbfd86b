-- What each Stripe delivery is about (its subscription and customer), written with the
-- pending processing row. When a delivery links a subscription to an account, the deliveries
-- parked for the same subscription or customer are found by these columns and retried at once.

ALTER TABLE webhook_processing
  ADD COLUMN subscription_id text,
  ADD COLUMN customer_id text;

CREATE INDEX webhook_processing_parked_subscription ON webhook_processing (subscription_id)
  WHERE status IN ('parked', 'failed');
CREATE INDEX webhook_processing_parked_customer ON webhook_processing (customer_id)
  WHERE status IN ('parked', 'failed');
