-- migrate:up

-- Indexes for the orders of ListCustomers. An index on a rowid table ends
-- with the rowid, so each one is really (column, id): the keyset
-- (column, id) > (?, ?) is a range search on it, in either direction.
-- Email needs none: customers_email_key is unique, so it orders email, id.
CREATE INDEX customers_name_idx ON customers (name);
CREATE INDEX customers_created_at_idx ON customers (created_at);
CREATE INDEX customers_updated_at_idx ON customers (updated_at);

-- Full-text index over the searchable columns, kept in step with customers by
-- the triggers below (external content: the text is stored once, in
-- customers). unicode61 folds case and, with remove_diacritics 2, accents.
CREATE VIRTUAL TABLE customers_fts USING fts5(
  name, email, phone, address,
  content = 'customers', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
  INSERT INTO customers_fts (rowid, name, email, phone, address)
  VALUES (NEW.id, NEW.name, NEW.email, NEW.phone, NEW.address);
END;

CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
  INSERT INTO customers_fts (customers_fts, rowid, name, email, phone, address)
  VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.phone, OLD.address);
END;

-- Only a change to a searchable column touches the index.
CREATE TRIGGER customers_fts_update AFTER UPDATE OF name, email, phone, address ON customers BEGIN
  INSERT INTO customers_fts (customers_fts, rowid, name, email, phone, address)
  VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.phone, OLD.address);
  INSERT INTO customers_fts (rowid, name, email, phone, address)
  VALUES (NEW.id, NEW.name, NEW.email, NEW.phone, NEW.address);
END;

-- Customers that existed before this migration.
INSERT INTO customers_fts (customers_fts) VALUES ('rebuild');

-- migrate:down
DROP TRIGGER customers_fts_update;
DROP TRIGGER customers_fts_delete;
DROP TRIGGER customers_fts_insert;
DROP TABLE customers_fts;
DROP INDEX customers_updated_at_idx;
DROP INDEX customers_created_at_idx;
DROP INDEX customers_name_idx;
