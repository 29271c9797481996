-- migrate:up

-- Idempotency keys of CreateCustomer (AIP-155): which customer a request_id
-- created, and a fingerprint of the fields it was sent with, so that a retry
-- gets the same customer and a different create with the same key is
-- refused. Rows older than the configured time to live are ignored and
-- deleted in small batches.
CREATE TABLE create_requests (
  request_id  TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;

CREATE INDEX create_requests_created_at_idx ON create_requests (created_at);

-- migrate:down
DROP INDEX create_requests_created_at_idx;
DROP TABLE create_requests;
