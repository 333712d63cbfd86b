-- Service and admin API keys, stored as SHA-256 hashes with their scopes.
CREATE TABLE ledger_api_keys (
  key_id      text        PRIMARY KEY,
  name        text        NOT NULL,
  key_hash    bytea       NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  scopes      text[]      NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
