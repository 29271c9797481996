-- migrate:up

-- Timestamps are ISO-8601 text in UTC with millisecond precision. The column
-- type DATETIME makes both sqlc and modernc.org/sqlite treat them as time.Time.
-- revision counts updates; the API derives the etag from it.
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

-- Emails are unique regardless of ASCII letter case: the column's NOCASE
-- collation applies to the index.
CREATE UNIQUE INDEX customers_email_key ON customers (email);

-- Every update moves updated_at forward (by at least a millisecond, so that
-- it is strictly later even when the clock has not ticked or went back) and
-- bumps revision (so the etag changes).
-- The WHEN guard stops the trigger from firing on its own update even when
-- recursive_triggers is on.
CREATE TRIGGER customers_touch AFTER UPDATE ON customers
FOR EACH ROW WHEN NEW.revision = OLD.revision
BEGIN
  UPDATE customers
  SET updated_at = max(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                       strftime('%Y-%m-%dT%H:%M:%fZ', OLD.updated_at, '+0.001 seconds')),
      revision = OLD.revision + 1
  WHERE id = NEW.id;
END;

-- created_at is set once, by the database, and never changes.
CREATE TRIGGER customers_created_at_immutable BEFORE UPDATE OF created_at ON customers
FOR EACH ROW WHEN NEW.created_at IS NOT OLD.created_at
BEGIN
  SELECT RAISE(ABORT, 'customers.created_at is immutable');
END;

-- migrate:down
DROP TRIGGER customers_created_at_immutable;
DROP TRIGGER customers_touch;
DROP INDEX customers_email_key;
DROP TABLE customers;
