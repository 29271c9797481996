-- migrate:up
-- The full-text index is brought up to date once per write transaction
-- instead of inside every statement. FTS5 writes the entries it holds in
-- memory out to disk (a new segment, then merges) at every statement
-- savepoint, and SQLite opens one for every UPDATE that fires triggers: with
-- the index kept by triggers, a batch of writes cost a segment per write.
-- Now the triggers only note which customers changed, with the values the
-- index holds for them, in customers_fts_pending; the store's writer applies
-- the notes (queries SearchIndex*) before every COMMIT, so the index is
-- never behind in a committed state the server wrote. A write made outside
-- the server (the sqlite3 shell) reaches the index with the server's next
-- write transaction, at the latest when it starts.
DROP TRIGGER customers_fts_insert;
DROP TRIGGER customers_fts_delete;
DROP TRIGGER customers_fts_update;
-- One row per customer changed since the index was last brought up to date.
-- indexed = 1: the index holds name, email, phone and address for id (they
-- must be named exactly to remove them); indexed = 0: it holds nothing for
-- id (created since). The first note of a customer wins (NOT EXISTS: later
-- values were never indexed); not INSERT OR IGNORE, because the conflict
-- clause of the statement that fires a trigger overrides the trigger's own.
CREATE TABLE customers_fts_pending (
  id      INTEGER PRIMARY KEY,
  indexed INTEGER NOT NULL CHECK (indexed IN (0, 1)),
  name    TEXT,
  email   TEXT,
  phone   TEXT,
  address TEXT
);
CREATE TRIGGER customers_fts_note_insert AFTER INSERT ON customers BEGIN
  INSERT INTO customers_fts_pending (id, indexed)
  SELECT NEW.id, 0 WHERE NOT EXISTS (SELECT 1 FROM customers_fts_pending WHERE id = NEW.id);
END;
CREATE TRIGGER customers_fts_note_update AFTER UPDATE OF id, name, email, phone, address ON customers
FOR EACH ROW WHEN NEW.id IS NOT OLD.id
  OR NEW.name IS NOT OLD.name COLLATE BINARY
  OR NEW.email IS NOT OLD.email COLLATE BINARY
  OR NEW.phone IS NOT OLD.phone
  OR NEW.address IS NOT OLD.address
BEGIN
  INSERT INTO customers_fts_pending (id, indexed, name, email, phone, address)
  SELECT OLD.id, 1, OLD.name, OLD.email, OLD.phone, OLD.address
  WHERE NOT EXISTS (SELECT 1 FROM customers_fts_pending WHERE id = OLD.id);
  INSERT INTO customers_fts_pending (id, indexed)
  SELECT NEW.id, 0 WHERE NOT EXISTS (SELECT 1 FROM customers_fts_pending WHERE id = NEW.id);
END;
CREATE TRIGGER customers_fts_note_delete AFTER DELETE ON customers BEGIN
  INSERT INTO customers_fts_pending (id, indexed, name, email, phone, address)
  SELECT OLD.id, 1, OLD.name, OLD.email, OLD.phone, OLD.address
  WHERE NOT EXISTS (SELECT 1 FROM customers_fts_pending WHERE id = OLD.id);
END;

-- migrate:down
INSERT INTO customers_fts (customers_fts, rowid, name, email, phone, address)
SELECT 'delete', id, name, email, phone, address FROM customers_fts_pending WHERE indexed = 1;
INSERT INTO customers_fts (rowid, name, email, phone, address)
SELECT c.id, c.name, c.email, c.phone, c.address
FROM customers_fts_pending p JOIN customers c ON c.id = p.id;
DROP TRIGGER customers_fts_note_insert;
DROP TRIGGER customers_fts_note_update;
DROP TRIGGER customers_fts_note_delete;
DROP TABLE customers_fts_pending;
CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
  INSERT INTO customers_fts (rowid, name, email, phone, address)
  VALUES (NEW.id, NEW.name, NEW.email, NEW.phone, NEW.address);
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
  INSERT INTO customers_fts (customers_fts, rowid, name, email, phone, address)
  VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.phone, OLD.address);
END;
CREATE TRIGGER customers_fts_update AFTER UPDATE OF name, email, phone, address ON customers BEGIN
  INSERT INTO customers_fts (customers_fts, rowid, name, email, phone, address)
  VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.phone, OLD.address);
  INSERT INTO customers_fts (rowid, name, email, phone, address)
  VALUES (NEW.id, NEW.name, NEW.email, NEW.phone, NEW.address);
END;
