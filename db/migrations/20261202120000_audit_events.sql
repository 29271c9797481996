-- migrate:up
-- The audit trail: one row for every call that read or changed customers,
-- with who made it and how it ended, never personal values. seq is given
-- by the writer (one past the largest), so that a batch of events goes in
-- with one statement; customer_ids is a JSON array of the customers the
-- call touched.
CREATE TABLE audit_events (
  seq          INTEGER PRIMARY KEY,
  at           DATETIME NOT NULL,
  principal    TEXT NOT NULL,
  procedure    TEXT NOT NULL,
  code         TEXT NOT NULL,
  request_id   TEXT NOT NULL DEFAULT '',
  customer_ids TEXT NOT NULL DEFAULT '[]'
);
-- Which events touched which customer, for the filter by customer: rows
-- are appended at the end of the primary key, the index finds a customer's.
CREATE TABLE audit_customers (
  seq         INTEGER NOT NULL,
  customer_id INTEGER NOT NULL,
  PRIMARY KEY (seq, customer_id)
) WITHOUT ROWID;
CREATE INDEX audit_customers_customer_idx ON audit_customers (customer_id, seq);

-- migrate:down
DROP TABLE audit_customers;
DROP TABLE audit_events;
