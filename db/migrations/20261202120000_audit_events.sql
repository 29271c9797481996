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
-- Which blocks of events (seq >> 12: 4096 events) touched which customer,
-- for the filter by customer, which reads the events of those blocks. The
-- key starts with the block, so that a batch of events adds its rows to
-- the few pages of the newest block, not one page per customer all over
-- the table; and a customer read again in the same block adds nothing
-- (the writer skips the pairs it knows). See internal/sqlite/audit.go.
CREATE TABLE audit_customers (
  block       INTEGER NOT NULL,
  customer_id INTEGER NOT NULL,
  PRIMARY KEY (block, customer_id)
) WITHOUT ROWID;

-- migrate:down
DROP TABLE audit_customers;
DROP TABLE audit_events;
