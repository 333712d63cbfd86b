-- The deliveries of one account: where the outbox finds the address of a billing e-mail
-- (webhooks/inbox_reads.h read_customer_email), which sorts that account's few rows.
CREATE INDEX webhook_processing_account ON webhook_processing (account_id)
  WHERE account_id IS NOT NULL;
