-- name: AuditLastSeq :one
-- The largest seq of the audit trail, 0 when it is empty.
SELECT CAST(ifnull((SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1), 0) AS INTEGER) AS seq;

-- name: AuditAppend :exec
-- Appends a JSON array of events, each [time, principal, procedure, code,
-- request_id, "[customer ids]"] (the ids a JSON array in a string, stored
-- as it is), numbered from base + 1 in array order. jsonb_each parses the
-- array once and hands each event on parsed.
INSERT INTO audit_events (seq, at, principal, procedure, code, request_id, customer_ids)
SELECT CAST(sqlc.arg(base) AS INTEGER) + e.key + 1, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]'),
       json_extract(e.value, '$[2]'), json_extract(e.value, '$[3]'), json_extract(e.value, '$[4]'),
       json_extract(e.value, '$[5]')
FROM jsonb_each(CAST(sqlc.arg(events) AS TEXT)) AS e;

-- name: AuditAppendCustomers :exec
-- Notes that customers were touched in blocks: a JSON array of [block,
-- customer id] pairs.
INSERT OR IGNORE INTO audit_customers (block, customer_id)
SELECT json_extract(p.value, '$[0]'), json_extract(p.value, '$[1]')
FROM jsonb_each(CAST(sqlc.arg(pairs) AS TEXT)) AS p;

-- name: ListAuditEventsAsc :many
-- A page of events after a seq, oldest first, passing the filters that are
-- set (an empty principal or procedure passes every event).
SELECT e.seq, e.at, e.principal, e.procedure, e.code, e.request_id, e.customer_ids
FROM audit_events AS e
WHERE e.seq > sqlc.arg(after_seq)
  AND (CAST(sqlc.arg(principal) AS TEXT) = '' OR e.principal = sqlc.arg(principal))
  AND (CAST(sqlc.arg(procedure) AS TEXT) = '' OR e.procedure = sqlc.arg(procedure))
  AND e.at >= CAST(sqlc.arg(start_time) AS TEXT) AND e.at < CAST(sqlc.arg(end_time) AS TEXT)
ORDER BY e.seq
LIMIT sqlc.arg(max_events);

-- name: ListAuditEventsDesc :many
-- A page of events before a seq, newest first.
SELECT e.seq, e.at, e.principal, e.procedure, e.code, e.request_id, e.customer_ids
FROM audit_events AS e
WHERE e.seq < sqlc.arg(before_seq)
  AND (CAST(sqlc.arg(principal) AS TEXT) = '' OR e.principal = sqlc.arg(principal))
  AND (CAST(sqlc.arg(procedure) AS TEXT) = '' OR e.procedure = sqlc.arg(procedure))
  AND e.at >= CAST(sqlc.arg(start_time) AS TEXT) AND e.at < CAST(sqlc.arg(end_time) AS TEXT)
ORDER BY e.seq DESC
LIMIT sqlc.arg(max_events);

-- name: AuditBlocks :one
-- The first and last block of audit_customers (0, -1 when it is empty).
SELECT CAST(ifnull((SELECT block FROM audit_customers ORDER BY block LIMIT 1), 0) AS INTEGER) AS first_block,
       CAST(ifnull((SELECT block FROM audit_customers ORDER BY block DESC LIMIT 1), -1) AS INTEGER) AS last_block;

-- name: AuditBlockHasCustomer :one
SELECT EXISTS (SELECT 1 FROM audit_customers WHERE block = sqlc.arg(block) AND customer_id = sqlc.arg(customer_id));

-- name: ListCustomerAuditEventsAsc :many
-- A page of one customer's events in one block after a seq, oldest first.
SELECT e.seq, e.at, e.principal, e.procedure, e.code, e.request_id, e.customer_ids
FROM audit_events AS e
WHERE e.seq >= (CAST(sqlc.arg(block) AS INTEGER) << 12) AND e.seq < ((CAST(sqlc.arg(block) AS INTEGER) + 1) << 12)
  AND e.seq > sqlc.arg(after_seq)
  AND instr(',' || trim(e.customer_ids, '[]') || ',', ',' || CAST(sqlc.arg(customer_id) AS INTEGER) || ',') > 0
  AND (CAST(sqlc.arg(principal) AS TEXT) = '' OR e.principal = sqlc.arg(principal))
  AND (CAST(sqlc.arg(procedure) AS TEXT) = '' OR e.procedure = sqlc.arg(procedure))
  AND e.at >= CAST(sqlc.arg(start_time) AS TEXT) AND e.at < CAST(sqlc.arg(end_time) AS TEXT)
ORDER BY e.seq
LIMIT sqlc.arg(max_events);

-- name: ListCustomerAuditEventsDesc :many
-- A page of one customer's events in one block before a seq, newest first.
SELECT e.seq, e.at, e.principal, e.procedure, e.code, e.request_id, e.customer_ids
FROM audit_events AS e
WHERE e.seq >= (CAST(sqlc.arg(block) AS INTEGER) << 12) AND e.seq < ((CAST(sqlc.arg(block) AS INTEGER) + 1) << 12)
  AND e.seq < sqlc.arg(before_seq)
  AND instr(',' || trim(e.customer_ids, '[]') || ',', ',' || CAST(sqlc.arg(customer_id) AS INTEGER) || ',') > 0
  AND (CAST(sqlc.arg(principal) AS TEXT) = '' OR e.principal = sqlc.arg(principal))
  AND (CAST(sqlc.arg(procedure) AS TEXT) = '' OR e.procedure = sqlc.arg(procedure))
  AND e.at >= CAST(sqlc.arg(start_time) AS TEXT) AND e.at < CAST(sqlc.arg(end_time) AS TEXT)
ORDER BY e.seq DESC
LIMIT sqlc.arg(max_events);

-- name: DeleteOldAuditCustomers :exec
-- Deletes the customer rows of the blocks whose events have all been
-- deleted: those before the oldest event's block. (The newest event is
-- never deleted, so the block the writer is filling never goes.)
DELETE FROM audit_customers
WHERE block < (SELECT seq FROM audit_events ORDER BY seq LIMIT 1) >> 12;

-- name: DeleteOldAuditEvents :execrows
-- Deletes at most batch of the oldest events that happened before a time
-- (events are appended in time order, near enough), but never the newest:
-- seq is one past the largest, and must never start again.
DELETE FROM audit_events
WHERE seq IN (
  SELECT seq FROM (SELECT seq, at FROM audit_events ORDER BY seq LIMIT sqlc.arg(batch))
  WHERE at < CAST(sqlc.arg(before) AS TEXT)
    AND seq < (SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1)
);
