-- Billing: the subscriptions projection (inline, written with the account's events), the
-- outbox of side effects (written in the same transaction as the events that cause them),
-- and the append-only webhook inbox with its processing state.

CREATE TABLE ledger_subscriptions (
  account_id            text        PRIMARY KEY,
  subscription_id       text        NOT NULL,
  customer_id           text        NOT NULL,
  status                text        NOT NULL,
  plan_id               text        NOT NULL,
  scheduled_plan_id     text        NOT NULL,
  period_start_s        bigint      NOT NULL,
  period_end_s          bigint      NOT NULL,
  cancel_at_period_end  boolean     NOT NULL,
  watermark_created_s   bigint      NOT NULL,
  granted_periods       text[]      NOT NULL,
  updated_at            timestamptz NOT NULL
);
CREATE INDEX ledger_subscriptions_subscription ON ledger_subscriptions (subscription_id);
CREATE INDEX ledger_subscriptions_customer ON ledger_subscriptions (customer_id);

CREATE TABLE ledger_outbox (
  account_id       text        NOT NULL,
  message_id       uuid        NOT NULL,
  kind             text        NOT NULL,
  payload          json        NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  attempts         integer     NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  last_error       text,
  PRIMARY KEY (account_id, message_id)
);
CREATE INDEX ledger_outbox_due ON ledger_outbox (next_attempt_at) WHERE delivered_at IS NULL;

-- Raw deliveries exactly as received, before any processing; never updated or deleted.
CREATE TABLE webhook_deliveries (
  provider           text        NOT NULL,
  provider_event_id  text        NOT NULL,
  event_type         text        NOT NULL,
  raw_body           bytea       NOT NULL,
  received_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, provider_event_id)
);
CREATE TRIGGER webhook_deliveries_no_update_delete BEFORE UPDATE OR DELETE ON webhook_deliveries
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
CREATE TRIGGER webhook_deliveries_no_truncate BEFORE TRUNCATE ON webhook_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();

-- Processing state of each delivery: pending -> processed | ignored | parked (account not
-- resolvable yet; retried with backoff up to a limit) | failed (gave up; kept for operators).
CREATE TABLE webhook_processing (
  provider           text        NOT NULL,
  provider_event_id  text        NOT NULL,
  status             text        NOT NULL CHECK (status IN ('pending', 'processed', 'ignored', 'parked', 'failed')),
  attempts           integer     NOT NULL DEFAULT 0,
  next_attempt_at    timestamptz NOT NULL DEFAULT now(),
  account_id         text,
  note               text,
  last_error         text,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, provider_event_id),
  FOREIGN KEY (provider, provider_event_id) REFERENCES webhook_deliveries (provider, provider_event_id)
);
CREATE INDEX webhook_processing_due ON webhook_processing (next_attempt_at)
  WHERE status IN ('pending', 'parked');
