-- The deliveries of one account, newest first: where the outbox finds the address of a
-- billing e-mail (webhooks/inbox_reads.h read_customer_email).
CREATE INDEX webhook_processing_account ON webhook_processing (account_id)
  WHERE account_id IS NOT NULL;
