-- Retention (ledger/retention.h, webhooks/inbox_retention.h): the indexes of the prune
-- queries, the rule under which old webhook deliveries may be deleted, and how far back the
-- inbox has been pruned. ledger_events is never pruned: its triggers are unchanged.

CREATE INDEX ledger_idempotency_created_at ON ledger_idempotency (created_at);
CREATE INDEX ledger_outbox_delivered_at ON ledger_outbox (delivered_at)
  WHERE delivered_at IS NOT NULL;
CREATE INDEX webhook_processing_settled ON webhook_processing (updated_at)
  WHERE status IN ('processed', 'ignored', 'failed');

-- webhook_deliveries stays append-only for everyone but the prune: UPDATE is always refused;
-- DELETE only of a row received before the cutoff in the transaction-local setting
-- ledger.webhook_prune_before (set by the prune with set_config(..., true)), and only when
-- that cutoff lies at least one day in the past, so even the prune cannot remove a recent
-- delivery. A delivery whose webhook_processing row exists cannot be deleted at all (the
-- foreign key): the prune removes settled processing rows first. TRUNCATE stays refused by
-- webhook_deliveries_no_truncate. The trigger keeps its name (ledgerctl verify checks it).
CREATE FUNCTION webhook_deliveries_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  prune_before timestamptz;
BEGIN
  IF TG_OP = 'DELETE' THEN
    prune_before := nullif(current_setting('ledger.webhook_prune_before', true), '')::timestamptz;
    IF prune_before IS NOT NULL AND prune_before <= now() - interval '1 day'
       AND OLD.received_at < prune_before THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION '% on % is not allowed: the table is append-only (settled deliveries past the retention window are removed only by the prune)',
    TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER webhook_deliveries_no_update_delete ON webhook_deliveries;
CREATE TRIGGER webhook_deliveries_no_update_delete BEFORE UPDATE OR DELETE ON webhook_deliveries
  FOR EACH ROW EXECUTE FUNCTION webhook_deliveries_guard();

-- The instant before which rows of `subject` may have been pruned (deliveries whose
-- processing row was last updated before it). Readers that trace ledger events back to
-- deliveries (reconcile) cannot expect a delivery for what happened before it.
CREATE TABLE retention_horizons (
  subject        text        PRIMARY KEY,
  pruned_before  timestamptz NOT NULL
);

-- A small global table: replicated to every node when the schema is distributed.
INSERT INTO ledger_table_placement VALUES ('retention_horizons', 'reference', NULL, NULL);
