-- migrate:up
-- The full-text index without its table of column sizes (columnsize=0):
-- only ranking functions (bm25) read it, and searches here are ordered by
-- the customers' own columns, never by rank. Each write of a customer then
-- changes one database page less (that table is keyed by id, so the pages
-- of a stream of updates are scattered across it). The index is rebuilt
-- from the customers table, which also makes any waiting notes moot.
DROP TABLE customers_fts;
CREATE VIRTUAL TABLE customers_fts USING fts5(
  name, email, phone, address,
  content = 'customers', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2',
  columnsize = 0
);
INSERT INTO customers_fts (customers_fts) VALUES ('rebuild');
DELETE FROM customers_fts_pending;

-- migrate:down
DROP TABLE customers_fts;
CREATE VIRTUAL TABLE customers_fts USING fts5(
  name, email, phone, address,
  content = 'customers', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO customers_fts (customers_fts) VALUES ('rebuild');
DELETE FROM customers_fts_pending;
