-- Write path v2 (committer lanes) and a schema that can be distributed by account id.

-- The committer's account lock: a transaction-scoped advisory lock on hashtextextended(id, 0),
-- tried without waiting (a lane defers the commands of an account another process holds)
-- or waited for (a lane learning what an in-doubt COMMIT did must outwait its transaction).
CREATE FUNCTION ledger_lock_account(lock_key bigint, wait boolean) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF wait THEN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN true;
  END IF;
  RETURN pg_try_advisory_xact_lock(lock_key);
END;
$$;

-- Every unique index of an account-keyed table includes the account column (on Citus a
-- unique index must contain the distribution column). The global position stays unique by
-- its sequence; its index serves ordered scans (export, digests).
DROP INDEX ledger_events_global_position;
CREATE INDEX ledger_events_global_position ON ledger_events (global_position);
DROP INDEX ledger_events_event_id;
CREATE UNIQUE INDEX ledger_events_event_id ON ledger_events (stream_id, event_id);

-- How each table is placed when the schema is distributed (docs/SCALING.md):
--   distributed: hash-distributed by `distribution_column`, colocated within `colocation`;
--   reference:   small, global, replicated to every node;
--   local:       stays on the coordinator.
-- A test fails when a table of the schema is missing here, or when a primary key or unique
-- index of a distributed table lacks its distribution column.
CREATE TABLE ledger_table_placement (
  table_name           text PRIMARY KEY,
  placement            text NOT NULL CHECK (placement IN ('distributed', 'reference', 'local')),
  distribution_column  text,
  colocation           text,
  CHECK ((placement = 'distributed') = (distribution_column IS NOT NULL AND colocation IS NOT NULL))
);
INSERT INTO ledger_table_placement VALUES
  ('ledger_events',             'distributed', 'stream_id',         'accounts'),
  ('ledger_accounts',           'distributed', 'account_id',        'accounts'),
  ('ledger_reservations',       'distributed', 'account_id',        'accounts'),
  ('ledger_idempotency',        'distributed', 'account_id',        'accounts'),
  ('ledger_subscriptions',      'distributed', 'account_id',        'accounts'),
  ('ledger_outbox',             'distributed', 'account_id',        'accounts'),
  ('ledger_refund_references',  'distributed', 'account_id',        'accounts'),
  ('webhook_deliveries',        'distributed', 'provider_event_id', 'deliveries'),
  ('webhook_processing',        'distributed', 'provider_event_id', 'deliveries'),
  ('ledger_api_keys',           'reference',   NULL,                NULL),
  ('ledger_table_placement',    'reference',   NULL,                NULL),
  ('ledger_schema_migrations',  'local',       NULL,                NULL);
