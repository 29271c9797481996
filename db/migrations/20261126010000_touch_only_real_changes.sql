-- migrate:up
-- An UPDATE that writes every column back with the value it had changes
-- nothing: the revision (and so the etag), updated_at and the change feed
-- stay as they were, as on PostgreSQL. Compared in BINARY, so that a change
-- of letter case alone, which NOCASE would call equal, still counts.
DROP TRIGGER customers_touch;
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

-- migrate:down
DROP TRIGGER customers_touch;
CREATE TRIGGER customers_touch AFTER UPDATE ON customers
FOR EACH ROW WHEN NEW.revision = OLD.revision
BEGIN
  UPDATE customers
  SET updated_at = max(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                       strftime('%Y-%m-%dT%H:%M:%fZ', OLD.updated_at, '+0.001 seconds')),
      revision = OLD.revision + 1
  WHERE id = NEW.id;
END;
