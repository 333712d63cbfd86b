-- A schema that can be distributed by account id (docs/SCALING.md), with two indexes less per
-- append.

-- Every unique index of an account-keyed table includes the account column (on Citus a
-- unique index must contain the distribution column). The global position stays unique by
-- its sequence; its index serves ordered scans (export, digests).
DROP INDEX ledger_events_global_position;
CREATE INDEX ledger_events_global_position ON ledger_events (global_position);
-- Event ids are random UUIDs the committer generates (and every hash covers): nothing looks
-- an event up by its id, so an index on it would only cost every append an insertion.
DROP INDEX ledger_events_event_id;
-- A fold at an instant reads one stream in version order (the primary key) and stops at the
-- instant; an index on (stream_id, recorded_at) only cost every append an insertion.
DROP INDEX ledger_events_recorded_at;

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
