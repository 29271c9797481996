-- migrate:up

-- The PostgreSQL schema of customerd: the same tables, rules and triggers as
-- the SQLite schema in db/migrations, so that both engines behave alike.

-- ascii_fold lowers the ASCII letters A-Z and nothing else: SQLite's NOCASE
-- collation. lower() would also fold non-ASCII letters, as the database's
-- locale says, and so neither match SQLite nor stay the same across servers.
CREATE FUNCTION ascii_fold(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN translate(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');

-- Timestamps have millisecond precision, as on SQLite and in the API. A new
-- row's created_at and updated_at are the same instant: the statement's.
-- revision counts updates; the API derives the etag from it.
-- name_key and email_key are the ASCII-folded name and email with the "C"
-- collation (byte order): ordering by them, then by id, is SQLite's NOCASE
-- order, so keyset pages agree across engines and with the tests' model.
-- search holds the words of name, email, phone and address as the store
-- tokenizes them (see internal/pgstore/search.go), with positions, so that
-- a phrase cannot run from one column into the next.
CREATE TABLE customers (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  email      text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
  phone      text CHECK (phone IS NULL OR char_length(phone) <= 32),
  address    text CHECK (address IS NULL OR char_length(address) <= 500),
  revision   bigint NOT NULL DEFAULT 1,
  created_at timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()),
  updated_at timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', statement_timestamp()),
  search     tsvector NOT NULL DEFAULT ''::tsvector,
  name_key   text COLLATE "C" GENERATED ALWAYS AS (ascii_fold(name)) STORED,
  email_key  text COLLATE "C" GENERATED ALWAYS AS (ascii_fold(email)) STORED
);

-- Emails are unique regardless of ASCII letter case, as with NOCASE.
CREATE UNIQUE INDEX customers_email_key ON customers (email_key);

-- Indexes for the orders of ListCustomers: the keyset (key, id) > (?, ?) is
-- a range search on each, in either direction.
CREATE INDEX customers_name_idx ON customers (name_key, id);
CREATE INDEX customers_email_idx ON customers (email_key, id);
CREATE INDEX customers_created_at_idx ON customers (created_at, id);
CREATE INDEX customers_updated_at_idx ON customers (updated_at, id);
CREATE INDEX customers_search_idx ON customers USING gin (search);

-- Every update that changes a column moves updated_at forward (by at least
-- a millisecond, so that it is strictly later even when the clock has not
-- ticked or went back) and bumps revision (so the etag changes). An update
-- that changes nothing leaves the row as it was. created_at never changes.
CREATE FUNCTION customers_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'customers.created_at is immutable' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id THEN
    RAISE EXCEPTION 'customers.id is immutable' USING ERRCODE = 'check_violation';
  END IF;
  IF (NEW.name, NEW.email, NEW.phone, NEW.address, NEW.search)
     IS NOT DISTINCT FROM (OLD.name, OLD.email, OLD.phone, OLD.address, OLD.search) THEN
    NEW.revision := OLD.revision;
    NEW.updated_at := OLD.updated_at;
    RETURN NEW;
  END IF;
  NEW.revision := OLD.revision + 1;
  NEW.updated_at := greatest(date_trunc('milliseconds', clock_timestamp()),
                             OLD.updated_at + interval '1 millisecond');
  RETURN NEW;
END;
$$;

CREATE TRIGGER customers_touch BEFORE UPDATE ON customers
FOR EACH ROW EXECUTE FUNCTION customers_touch();

-- Idempotency keys of CreateCustomer (AIP-155): which customer a request_id
-- created, and a fingerprint of the fields it was sent with. Rows older than
-- the configured time to live are ignored and deleted in small batches.
CREATE TABLE create_requests (
  request_id  text PRIMARY KEY,
  fingerprint text NOT NULL,
  customer_id bigint NOT NULL,
  created_at  timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
);

CREATE INDEX create_requests_created_at_idx ON create_requests (created_at);

-- The change feed: every create, update and delete of a customer, recorded
-- by triggers in the transaction of the write itself. The row holds the
-- customer as it was after the change (before it, for a delete).
--
-- seq must follow commit order, or a watcher that has read up to seq n could
-- miss a change that commits later with a smaller seq. A sequence hands out
-- numbers when rows are inserted, not when they commit, so the trigger first
-- takes a transaction-scoped advisory lock, held until commit or rollback:
-- transactions that record changes take seq numbers one after another and
-- commit in that order. (The store takes the same lock when it begins a
-- write, before touching any row, so that writers never deadlock on it.)
CREATE TABLE customer_changes (
  seq         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  change      text NOT NULL CHECK (change IN ('created', 'updated', 'deleted')),
  customer_id bigint NOT NULL,
  name        text NOT NULL,
  email       text NOT NULL,
  phone       text,
  address     text,
  revision    bigint NOT NULL,
  created_at  timestamptz(3) NOT NULL,
  updated_at  timestamptz(3) NOT NULL,
  recorded_at timestamptz(3) NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
);

CREATE INDEX customer_changes_recorded_at_idx ON customer_changes (recorded_at);

-- 7173 is the key of the change feed's advisory lock ("customer changes");
-- internal/pgstore uses the same number. NOTIFY is delivered at commit, to
-- every listening replica, which then reads the new changes.
CREATE FUNCTION customer_changes_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r customers%ROWTYPE;
  kind text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    r := OLD; kind := 'deleted';
  ELSIF TG_OP = 'INSERT' THEN
    r := NEW; kind := 'created';
  ELSE
    r := NEW; kind := 'updated';
  END IF;
  PERFORM pg_advisory_xact_lock(7173);
  INSERT INTO customer_changes (change, customer_id, name, email, phone, address, revision, created_at, updated_at)
  VALUES (kind, r.id, r.name, r.email, r.phone, r.address, r.revision, r.created_at, r.updated_at);
  PERFORM pg_notify('customer_changes', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER customer_changes_insert AFTER INSERT ON customers
FOR EACH ROW EXECUTE FUNCTION customer_changes_record();

-- Only an update that changed something (the revision moved) is recorded.
CREATE TRIGGER customer_changes_update AFTER UPDATE ON customers
FOR EACH ROW WHEN (NEW.revision <> OLD.revision) EXECUTE FUNCTION customer_changes_record();

CREATE TRIGGER customer_changes_delete AFTER DELETE ON customers
FOR EACH ROW EXECUTE FUNCTION customer_changes_record();

-- migrate:down
DROP TRIGGER customer_changes_delete ON customers;
DROP TRIGGER customer_changes_update ON customers;
DROP TRIGGER customer_changes_insert ON customers;
DROP FUNCTION customer_changes_record();
DROP TABLE customer_changes;
DROP TABLE create_requests;
DROP TRIGGER customers_touch ON customers;
DROP FUNCTION customers_touch();
DROP TABLE customers;
DROP FUNCTION ascii_fold(text);
