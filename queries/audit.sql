-- name: AuditLastSeq :one
-- The largest seq of the audit trail, 0 when it is empty.
SELECT CAST(ifnull((SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1), 0) AS INTEGER) AS seq;

-- name: AuditAppend :exec
-- Appends a JSON array of events, each [time, principal, procedure, code,
-- request_id, [customer ids]], numbered from base + 1 in array order.
INSERT INTO audit_events (seq, at, principal, procedure, code, request_id, customer_ids)
SELECT CAST(sqlc.arg(base) AS INTEGER) + e.key + 1, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]'),
       json_extract(e.value, '$[2]'), json_extract(e.value, '$[3]'), json_extract(e.value, '$[4]'),
       json_extract(e.value, '$[5]')
FROM json_each(CAST(sqlc.arg(events) AS TEXT)) AS e;

-- name: AuditAppendCustomers :exec
-- The customers of the events AuditAppend appended with the same base.
INSERT INTO audit_customers (seq, customer_id)
SELECT CAST(sqlc.arg(base) AS INTEGER) + e.key + 1, i.value
FROM json_each(CAST(sqlc.arg(events) AS TEXT)) AS e, json_each(e.value, '$[5]') AS i;

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

-- name: ListCustomerAuditEventsAsc :many
-- A page of one customer's events after a seq, oldest first.
SELECT e.seq, e.at, e.principal, e.procedure, e.code, e.request_id, e.customer_ids
FROM audit_customers AS c JOIN audit_events AS e ON e.seq = c.seq
WHERE c.customer_id = sqlc.arg(customer_id) AND c.seq > sqlc.arg(after_seq)
  AND (CAST(sqlc.arg(principal) AS TEXT) = '' OR e.principal = sqlc.arg(principal))
  AND (CAST(sqlc.arg(procedure) AS TEXT) = '' OR e.procedure = sqlc.arg(procedure))
  AND e.at >= CAST(sqlc.arg(start_time) AS TEXT) AND e.at < CAST(sqlc.arg(end_time) AS TEXT)
ORDER BY c.seq
LIMIT sqlc.arg(max_events);

-- name: ListCustomerAuditEventsDesc :many
-- A page of one customer's events before a seq, newest first.
SELECT e.seq, e.at, e.principal, e.procedure, e.code, e.request_id, e.customer_ids
FROM audit_customers AS c JOIN audit_events AS e ON e.seq = c.seq
WHERE c.customer_id = sqlc.arg(customer_id) AND c.seq < sqlc.arg(before_seq)
  AND (CAST(sqlc.arg(principal) AS TEXT) = '' OR e.principal = sqlc.arg(principal))
  AND (CAST(sqlc.arg(procedure) AS TEXT) = '' OR e.procedure = sqlc.arg(procedure))
  AND e.at >= CAST(sqlc.arg(start_time) AS TEXT) AND e.at < CAST(sqlc.arg(end_time) AS TEXT)
ORDER BY c.seq DESC
LIMIT sqlc.arg(max_events);

-- name: DeleteOldAuditEvents :execrows
-- Deletes at most batch of the oldest events that happened before a time
-- (events are appended in time order, near enough), with their customers.
DELETE FROM audit_events
WHERE seq IN (
  SELECT seq FROM (SELECT seq, at FROM audit_events ORDER BY seq LIMIT sqlc.arg(batch))
  WHERE at < CAST(sqlc.arg(before) AS TEXT)
);

-- name: DeleteOrphanAuditCustomers :exec
-- Deletes the customers of the events DeleteOldAuditEvents deleted: those
-- below the oldest event left.
DELETE FROM audit_customers
WHERE seq < ifnull((SELECT seq FROM audit_events ORDER BY seq LIMIT 1), (SELECT max(seq) + 1 FROM audit_customers));
