-- migrate:up
-- EraseCustomer keeps a customer's change events as tombstones: their
-- values are cleared and erased is set (the feed shows the customer's
-- deleted event as an erasure).
ALTER TABLE customer_changes ADD COLUMN erased BOOLEAN NOT NULL DEFAULT 0;
-- FTS5's secure-delete removes a deleted customer's words from the index
-- pages at once, instead of adding delete markers that leave the words in
-- older segments until a merge. optimize merges what earlier deletes left.
INSERT INTO customers_fts (customers_fts, rank) VALUES ('secure-delete', 1);
INSERT INTO customers_fts (customers_fts) VALUES ('optimize');

-- migrate:down
INSERT INTO customers_fts (customers_fts, rank) VALUES ('secure-delete', 0);
ALTER TABLE customer_changes DROP COLUMN erased;
