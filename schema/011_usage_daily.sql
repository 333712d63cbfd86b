-- Credits spent per account, UTC day and feature (GET /api/v1/credits/usage): a projection
-- fed by ReservationCaptured events (the captured amount, on the day the capture was
-- recorded, under the reservation's feature). The committer adds each batch's captures;
-- replay rebuilds it from the log; verify compares it with the fold.
CREATE TABLE ledger_usage_daily (
  account_id  text   NOT NULL,
  day         date   NOT NULL,
  feature     text   NOT NULL,
  credits     bigint NOT NULL CHECK (credits > 0),
  PRIMARY KEY (account_id, day, feature)
);

INSERT INTO ledger_table_placement VALUES
  ('ledger_usage_daily', 'distributed', 'account_id', 'accounts');

-- The captures recorded before this migration (their reservations' features are in the
-- reservation projection, which retention never prunes).
INSERT INTO ledger_usage_daily (account_id, day, feature, credits)
SELECT e.stream_id, (e.recorded_at AT TIME ZONE 'UTC')::date, r.feature,
       sum((e.payload->>'amount_captured')::bigint)
FROM ledger_events e
JOIN ledger_reservations r
  ON r.account_id = e.stream_id AND r.reservation_id = e.payload->>'reservation_id'
WHERE e.event_type = 'ReservationCaptured' AND (e.payload->>'amount_captured')::bigint > 0
GROUP BY 1, 2, 3;
