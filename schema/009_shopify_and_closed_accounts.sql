-- Shopify deliveries and closed accounts.
-- A closed account (a shop that uninstalled the app) takes no new reservations; its open
-- ones may still settle. Folded from AccountClosed events like every projection column.
ALTER TABLE ledger_accounts ADD COLUMN closed boolean NOT NULL DEFAULT false;
-- The provider headers that identify a delivery beside its raw body (Shopify: topic, shop
-- domain, webhook id, event id), as JSON; NULL for providers whose body says it all.
ALTER TABLE webhook_deliveries ADD COLUMN headers json;
