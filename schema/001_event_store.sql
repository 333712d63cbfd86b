-- Event store: the append-only log of every account stream, the inline projections
-- updated in the same transaction as each append, and the idempotency records.
-- Every table is keyed by account id (stream id) so it can be distributed by that column.

CREATE SEQUENCE ledger_event_position_seq;

CREATE TABLE ledger_events (
  stream_id        text        NOT NULL,
  stream_version   bigint      NOT NULL CHECK (stream_version >= 1),
  global_position  bigint      NOT NULL DEFAULT nextval('ledger_event_position_seq'),
  event_id         uuid        NOT NULL,
  event_type       text        NOT NULL,
  payload          json        NOT NULL,  -- json, not jsonb: the exact bytes that were hashed
  metadata         json        NOT NULL,
  recorded_at      timestamptz NOT NULL,
  hash             bytea       NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (stream_id, stream_version)
);
CREATE UNIQUE INDEX ledger_events_global_position ON ledger_events (global_position);
CREATE UNIQUE INDEX ledger_events_event_id ON ledger_events (event_id);
CREATE INDEX ledger_events_recorded_at ON ledger_events (stream_id, recorded_at);

CREATE FUNCTION ledger_reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER ledger_events_no_update_delete BEFORE UPDATE OR DELETE ON ledger_events
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
CREATE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE ON ledger_events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();

-- Balance projection: one row per opened account.
CREATE TABLE ledger_accounts (
  account_id         text        PRIMARY KEY,
  plan_id            text        NOT NULL,
  credits_available  bigint      NOT NULL CHECK (credits_available >= 0),
  credits_reserved   bigint      NOT NULL CHECK (credits_reserved >= 0),
  credits_granted    bigint      NOT NULL,
  credits_spent      bigint      NOT NULL CHECK (credits_spent >= 0),
  credits_expired    bigint      NOT NULL CHECK (credits_expired >= 0),
  stream_version     bigint      NOT NULL,
  last_hash          bytea       NOT NULL,
  updated_at         timestamptz NOT NULL,
  CHECK (credits_granted - credits_spent - credits_expired - credits_available
         - credits_reserved = 0)
);

-- Reservation projection: every reservation with its settlement status.
CREATE TABLE ledger_reservations (
  account_id       text        NOT NULL,
  reservation_id   text        NOT NULL,
  amount           bigint      NOT NULL CHECK (amount > 0),
  feature          text        NOT NULL,
  expires_at       timestamptz NOT NULL,
  status           text        NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
  amount_captured  bigint      NOT NULL DEFAULT 0 CHECK (amount_captured >= 0 AND amount_captured <= amount),
  PRIMARY KEY (account_id, reservation_id)
);
CREATE INDEX ledger_reservations_open_expiry ON ledger_reservations (expires_at)
  WHERE status = 'open';

-- Idempotency records: the first outcome of each (account, key).
CREATE TABLE ledger_idempotency (
  account_id       text        NOT NULL,
  idempotency_key  text        NOT NULL,
  fingerprint      text        NOT NULL,
  outcome          json        NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, idempotency_key)
);
