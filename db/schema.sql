CREATE TABLE IF NOT EXISTS "schema_migrations" (version varchar(128) primary key);
CREATE TABLE customers (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT NOT NULL COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 200),
  email      TEXT NOT NULL COLLATE NOCASE CHECK (length(email) BETWEEN 3 AND 254),
  phone      TEXT CHECK (phone IS NULL OR length(phone) <= 32),
  address    TEXT CHECK (address IS NULL OR length(address) <= 500),
  revision   INTEGER NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX customers_email_key ON customers (email);
CREATE TRIGGER customers_created_at_immutable BEFORE UPDATE OF created_at ON customers
FOR EACH ROW WHEN NEW.created_at IS NOT OLD.created_at
BEGIN
  SELECT RAISE(ABORT, 'customers.created_at is immutable');
END;
CREATE INDEX customers_name_idx ON customers (name);
CREATE INDEX customers_created_at_idx ON customers (created_at);
CREATE INDEX customers_updated_at_idx ON customers (updated_at);
CREATE TABLE create_requests (
  request_id  TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;
CREATE INDEX create_requests_created_at_idx ON create_requests (created_at);
CREATE TABLE customer_changes (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  change      TEXT NOT NULL CHECK (change IN ('created', 'updated', 'deleted')),
  customer_id INTEGER NOT NULL,
  name        TEXT NOT NULL,
  email       TEXT NOT NULL,
  phone       TEXT,
  address     TEXT,
  revision    INTEGER NOT NULL,
  created_at  DATETIME NOT NULL,
  updated_at  DATETIME NOT NULL,
  recorded_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
, erased BOOLEAN NOT NULL DEFAULT 0);
CREATE TRIGGER customer_changes_insert AFTER INSERT ON customers BEGIN
  INSERT INTO customer_changes (change, customer_id, name, email, phone, address, revision, created_at, updated_at)
  VALUES ('created', NEW.id, NEW.name, NEW.email, NEW.phone, NEW.address, NEW.revision, NEW.created_at, NEW.updated_at);
END;
CREATE TRIGGER customer_changes_update AFTER UPDATE ON customers
FOR EACH ROW WHEN NEW.revision <> OLD.revision
BEGIN
  INSERT INTO customer_changes (change, customer_id, name, email, phone, address, revision, created_at, updated_at)
  VALUES ('updated', NEW.id, NEW.name, NEW.email, NEW.phone, NEW.address, NEW.revision, NEW.created_at, NEW.updated_at);
END;
CREATE TRIGGER customer_changes_delete AFTER DELETE ON customers BEGIN
  INSERT INTO customer_changes (change, customer_id, name, email, phone, address, revision, created_at, updated_at)
  VALUES ('deleted', OLD.id, OLD.name, OLD.email, OLD.phone, OLD.address, OLD.revision, OLD.created_at, OLD.updated_at);
END;
CREATE TRIGGER customers_touch AFTER UPDATE ON customers
FOR EACH ROW WHEN NEW.revision = OLD.revision
  AND (NEW.name IS NOT OLD.name COLLATE BINARY
    OR NEW.email IS NOT OLD.email COLLATE BINARY
    OR NEW.phone IS NOT OLD.phone
    OR NEW.address IS NOT OLD.address)
BEGIN
  UPDATE customers
  SET updated_at = max(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                       strftime('%Y-%m-%dT%H:%M:%fZ', OLD.updated_at, '+0.001 seconds')),
      revision = OLD.revision + 1
  WHERE id = NEW.id;
END;
CREATE TABLE customers_fts_pending (
  id      INTEGER PRIMARY KEY,
  indexed INTEGER NOT NULL CHECK (indexed IN (0, 1)),
  name    TEXT,
  email   TEXT,
  phone   TEXT,
  address TEXT
, added TEXT NOT NULL DEFAULT '');
CREATE TRIGGER customers_fts_note_delete AFTER DELETE ON customers BEGIN
  INSERT INTO customers_fts_pending (id, indexed, name, email, phone, address)
  SELECT OLD.id, 1, OLD.name, OLD.email, OLD.phone, OLD.address
  WHERE NOT EXISTS (SELECT 1 FROM customers_fts_pending WHERE id = OLD.id);
END;
CREATE VIRTUAL TABLE customers_fts USING fts5(
  name, email, phone, address,
  content = 'customers', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2',
  columnsize = 0
)
/* customers_fts(name,email,phone,address) */;
CREATE TABLE IF NOT EXISTS 'customers_fts_data'(id INTEGER PRIMARY KEY, block BLOB);
CREATE TABLE IF NOT EXISTS 'customers_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS 'customers_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;
CREATE TABLE search_terms (term TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE customers_fts_terms USING fts5vocab(customers_fts, 'row')
/* customers_fts_terms(term,doc,cnt) */;
CREATE VIRTUAL TABLE customers_fts_stage USING fts5(
  added, content = '', detail = 'none',
  tokenize = 'unicode61 remove_diacritics 2'
)
/* customers_fts_stage(added) */;
CREATE TABLE IF NOT EXISTS 'customers_fts_stage_data'(id INTEGER PRIMARY KEY, block BLOB);
CREATE TABLE IF NOT EXISTS 'customers_fts_stage_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS 'customers_fts_stage_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
CREATE TABLE IF NOT EXISTS 'customers_fts_stage_config'(k PRIMARY KEY, v) WITHOUT ROWID;
CREATE VIRTUAL TABLE customers_fts_stage_terms USING fts5vocab(customers_fts_stage, 'row')
/* customers_fts_stage_terms(term,doc,cnt) */;
CREATE TRIGGER customers_fts_note_insert AFTER INSERT ON customers BEGIN
  INSERT INTO customers_fts_pending (id, indexed, added)
  VALUES (NEW.id, 0, ' ' || NEW.name || ' ' || NEW.email || ' ' || ifnull(NEW.phone, '') || ' ' || ifnull(NEW.address, ''))
  ON CONFLICT (id) DO UPDATE SET added = added || excluded.added;
END;
CREATE TRIGGER customers_fts_note_update AFTER UPDATE OF name, email, phone, address ON customers
FOR EACH ROW WHEN NEW.id = OLD.id AND (NEW.name IS NOT OLD.name COLLATE BINARY
  OR NEW.email IS NOT OLD.email COLLATE BINARY
  OR NEW.phone IS NOT OLD.phone
  OR NEW.address IS NOT OLD.address)
BEGIN
  -- Only the values that changed join added.
  INSERT INTO customers_fts_pending (id, indexed, name, email, phone, address, added)
  VALUES (OLD.id, 1, OLD.name, OLD.email, OLD.phone, OLD.address,
    iif(NEW.name IS NOT OLD.name COLLATE BINARY, ' ' || NEW.name, '')
    || iif(NEW.email IS NOT OLD.email COLLATE BINARY, ' ' || NEW.email, '')
    || iif(NEW.phone IS NOT OLD.phone, ' ' || ifnull(NEW.phone, ''), '')
    || iif(NEW.address IS NOT OLD.address, ' ' || ifnull(NEW.address, ''), ''))
  ON CONFLICT (id) DO UPDATE SET added = added || excluded.added;
END;
CREATE TRIGGER customers_fts_note_renumber AFTER UPDATE OF id ON customers
FOR EACH ROW WHEN NEW.id IS NOT OLD.id
BEGIN
  INSERT INTO customers_fts_pending (id, indexed, name, email, phone, address)
  VALUES (OLD.id, 1, OLD.name, OLD.email, OLD.phone, OLD.address)
  ON CONFLICT (id) DO NOTHING;
  INSERT INTO customers_fts_pending (id, indexed, added)
  VALUES (NEW.id, 0, ' ' || NEW.name || ' ' || NEW.email || ' ' || ifnull(NEW.phone, '') || ' ' || ifnull(NEW.address, ''))
  ON CONFLICT (id) DO UPDATE SET added = added || excluded.added;
END;
CREATE TABLE audit_events (
  seq          INTEGER PRIMARY KEY,
  at           DATETIME NOT NULL,
  principal    TEXT NOT NULL,
  procedure    TEXT NOT NULL,
  code         TEXT NOT NULL,
  request_id   TEXT NOT NULL DEFAULT '',
  customer_ids TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE audit_customers (
  block       INTEGER NOT NULL,
  customer_id INTEGER NOT NULL,
  PRIMARY KEY (block, customer_id)
) WITHOUT ROWID;
-- Dbmate schema migrations
INSERT INTO "schema_migrations" (version) VALUES
  ('20261125120000'),
  ('20261125130000'),
  ('20261125140000'),
  ('20261125150000'),
  ('20261126010000'),
  ('20261126020000'),
  ('20261126030000'),
  ('20261126040000'),
  ('20261126050000'),
  ('20261202120000'),
  ('20261202130000');
