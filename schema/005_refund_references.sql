-- Refund references already used per account (inline projection of CreditsRefunded): a
-- reference refunds once, whatever Idempotency-Key the caller sends.
CREATE TABLE ledger_refund_references (
  account_id  text   NOT NULL,
  reference   text   NOT NULL,
  amount      bigint NOT NULL CHECK (amount > 0),
  PRIMARY KEY (account_id, reference)
);
