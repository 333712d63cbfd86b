-- Credit buckets (README "Credit buckets"): the balance projection keeps each account's
-- live buckets (JSON, as ledger::AccountState holds them), the sequence of the newest one,
-- when the account opened, the end of its newest expiring plan allowance, and the instant
-- the credit sweeper is due (a bucket with credits left expires; NULL: never). The
-- reservation projection keeps the buckets each reservation drew from.
ALTER TABLE ledger_accounts
  ADD COLUMN buckets         text        NOT NULL DEFAULT '[]',
  ADD COLUMN buckets_created bigint      NOT NULL DEFAULT 0 CHECK (buckets_created >= 0),
  ADD COLUMN opened_at       timestamptz,
  ADD COLUMN allowance_until timestamptz,
  ADD COLUMN credits_due_at  timestamptz;
ALTER TABLE ledger_reservations
  ADD COLUMN draws text NOT NULL DEFAULT '[]';

-- Events recorded before buckets fold into one never-expiring "legacy" bucket per account,
-- from which every reservation of that time drew (it never expires, so no legacy account is
-- due); a free account's monthly cycle counts from its opening.
UPDATE ledger_accounts a SET
  opened_at = (SELECT e.recorded_at FROM ledger_events e
               WHERE e.stream_id = a.account_id AND e.stream_version = 1),
  buckets = CASE WHEN a.credits_available + a.credits_reserved > 0 THEN
              json_build_array(json_build_object(
                'id', 'legacy', 'source', 'legacy', 'remaining', a.credits_available,
                'reserved', a.credits_reserved, 'expires_at_us', 0, 'priority', 50,
                'seq', 0))::text
            ELSE '[]' END;
UPDATE ledger_reservations
  SET draws = json_build_array(json_build_object('bucket_id', 'legacy', 'amount', amount))::text;

CREATE INDEX ledger_accounts_credits_due ON ledger_accounts (credits_due_at)
  WHERE credits_due_at IS NOT NULL;

-- A refunded Stripe charge finds the account of the pack it paid for by the pack's
-- reference ("pack:<payment intent>").
CREATE INDEX ledger_refund_references_reference ON ledger_refund_references (reference);
