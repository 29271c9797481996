-- migrate:up
-- EraseCustomer keeps a customer's change events as tombstones: their
-- values are cleared and erased is set (the feed shows the customer's
-- deleted event as an erasure).
ALTER TABLE customer_changes ADD COLUMN erased BOOLEAN NOT NULL DEFAULT 0;

-- migrate:down
ALTER TABLE customer_changes DROP COLUMN erased;
