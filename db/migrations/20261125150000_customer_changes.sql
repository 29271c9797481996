-- migrate:up

-- The change feed: every create, update and delete of a customer, recorded
-- by triggers in the transaction of the write itself, so no committed
-- change can be missed. seq orders changes in commit order (the single
-- writer commits in the order it assigns them). The row holds the customer
-- as it was after the change (before it, for a delete).
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
);

CREATE INDEX customer_changes_recorded_at_idx ON customer_changes (recorded_at);

CREATE TRIGGER customer_changes_insert AFTER INSERT ON customers BEGIN
  INSERT INTO customer_changes (change, customer_id, name, email, phone, address, revision, created_at, updated_at)
  VALUES ('created', NEW.id, NEW.name, NEW.email, NEW.phone, NEW.address, NEW.revision, NEW.created_at, NEW.updated_at);
END;

-- An update runs twice: the caller's UPDATE, then customers_touch's, which
-- bumps the revision and updated_at. Only the second is recorded, with the
-- final values.
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

-- migrate:down
DROP TRIGGER customer_changes_delete;
DROP TRIGGER customer_changes_update;
DROP TRIGGER customer_changes_insert;
DROP INDEX customer_changes_recorded_at_idx;
DROP TABLE customer_changes;
