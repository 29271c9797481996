-- migrate:up
-- The audit trail: one row for every call that read or changed customers,
-- with who made it and how it ended, never personal values (see the SQLite
-- migration of the same name). customer_ids are the customers the call
-- touched; the GIN index finds a customer's events.
CREATE TABLE audit_events (
  seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           timestamptz(3) NOT NULL,
  principal    text NOT NULL,
  procedure    text NOT NULL,
  code         text NOT NULL,
  request_id   text NOT NULL DEFAULT '',
  customer_ids bigint[] NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_customer_ids_idx ON audit_events USING gin (customer_ids);

-- migrate:down
DROP TABLE audit_events;
