-- migrate:up
-- Every distinct word the full-text index holds, so that a search for a
-- word prefix can name the few words it stands for instead of asking FTS5
-- for the prefix: FTS5 answers a prefix by merging the lists of every
-- matching word into one before it returns its first row, which costs in
-- proportion to all the rows that match, not to the page asked for (at a
-- million customers, a tenth of whom live in London, "london" read 90,000
-- entries for a page of 50). A query of words ("london" OR "londoner") is
-- read lazily, in rowid order. Words are only ever added: one that no
-- customer holds any more matches nothing.
CREATE TABLE search_terms (term TEXT PRIMARY KEY) WITHOUT ROWID;
-- customers_fts_terms lists the words of the index itself (with how many
-- customers hold each; reading it costs in proportion to the index).
CREATE VIRTUAL TABLE customers_fts_terms USING fts5vocab(customers_fts, 'row');
INSERT INTO search_terms (term) SELECT term FROM customers_fts_terms;

-- The notes also collect the values each customer gained (added): the
-- writer tokenizes them with FTS5 itself, in customers_fts_stage, and adds
-- the words to search_terms (queries SearchTerms*), before every COMMIT.
ALTER TABLE customers_fts_pending ADD COLUMN added TEXT NOT NULL DEFAULT '';
CREATE VIRTUAL TABLE customers_fts_stage USING fts5(
  added, content = '', detail = 'none',
  tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE customers_fts_stage_terms USING fts5vocab(customers_fts_stage, 'row');

-- One statement per trigger: an upsert keeps the first note's values (the
-- ones the index holds) and appends to added. (Its conflict target wins over
-- the conflict clause of the statement that fires the trigger, which
-- INSERT OR IGNORE's did not.)
DROP TRIGGER customers_fts_note_insert;
DROP TRIGGER customers_fts_note_update;
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
-- A customer given a new id (plain SQL only): the old id's entries go, the
-- new id is indexed from scratch.
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

-- migrate:down
DROP TRIGGER customers_fts_note_insert;
DROP TRIGGER customers_fts_note_update;
DROP TRIGGER customers_fts_note_renumber;
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
DROP TABLE customers_fts_stage_terms;
DROP TABLE customers_fts_stage;
DROP TABLE customers_fts_terms;
ALTER TABLE customers_fts_pending DROP COLUMN added;
DROP TABLE search_terms;
