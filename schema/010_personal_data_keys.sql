-- Erasure of personal data from append-only tables (crypto-shredding, README "Erasure").
-- Personal data is stored sealed (AES-256-GCM) under a key kept in a row that, unlike the
-- data, may be deleted: deleting the key is the erasure, and the immutable row (and every
-- hash over it) stays as it was.

-- One key per webhook delivery: a delivery is stored before its account is known (Stripe,
-- Churnkey), so its key cannot be the account's. Erasing an account, a shop or one of a
-- shop's customers deletes the keys of the deliveries concerned.
CREATE TABLE webhook_body_keys (
  provider           text  NOT NULL,
  provider_event_id  text  NOT NULL,
  secret             bytea NOT NULL CHECK (octet_length(secret) = 32),
  PRIMARY KEY (provider, provider_event_id),
  -- The retention prune's removal of a delivery takes its key along.
  FOREIGN KEY (provider, provider_event_id) REFERENCES webhook_deliveries (provider, provider_event_id)
    ON DELETE CASCADE
);
-- True: raw_body is nonce || ciphertext || tag under the delivery's key in webhook_body_keys
-- (no key row: erased). False: a delivery stored in plaintext before this migration, left to
-- the retention prune.
ALTER TABLE webhook_deliveries ADD COLUMN sealed boolean NOT NULL DEFAULT false;

-- One key per account for the personal text that events carry (a Churnkey customer's
-- feedback and survey answer): sealed into the event's payload, so the hash chain covers
-- the ciphertext and erasure leaves it intact.
CREATE TABLE ledger_subject_keys (
  account_id  text        PRIMARY KEY,
  secret      bytea       NOT NULL CHECK (octet_length(secret) = 32),
  created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO ledger_table_placement VALUES
  ('webhook_body_keys',    'distributed', 'provider_event_id', 'deliveries'),
  ('ledger_subject_keys',  'distributed', 'account_id',        'accounts');
