-- name: AuditAppend :exec
-- Appends a JSON array of events, each [time, principal, procedure, code,
-- request_id, "[customer ids]"] (the ids a JSON array in a string),
-- numbered in array order.
INSERT INTO audit_events (at, principal, procedure, code, request_id, customer_ids)
SELECT (x.e->>0)::timestamptz, x.e->>1, x.e->>2, x.e->>3, x.e->>4,
       ARRAY(SELECT jsonb_array_elements_text((x.e->>5)::jsonb)::bigint)
FROM jsonb_array_elements(sqlc.arg(events)::jsonb) WITH ORDINALITY AS x(e, n)
ORDER BY x.n;

-- name: ListAuditEventsAsc :many
-- A page of events after a seq, oldest first, passing the filters that are
-- set (customer 0, an empty principal or procedure pass every event).
SELECT seq, at, principal, procedure, code, request_id, customer_ids
FROM audit_events
WHERE seq > sqlc.arg(after_seq)
  AND (sqlc.arg(customer_id)::bigint = 0 OR customer_ids @> ARRAY[sqlc.arg(customer_id)::bigint])
  AND (sqlc.arg(principal)::text = '' OR principal = sqlc.arg(principal)::text)
  AND (sqlc.arg(procedure)::text = '' OR procedure = sqlc.arg(procedure)::text)
  AND at >= sqlc.arg(start_time)::timestamptz AND at < sqlc.arg(end_time)::timestamptz
ORDER BY seq
LIMIT sqlc.arg(max_events);

-- name: ListAuditEventsDesc :many
-- A page of events before a seq, newest first.
SELECT seq, at, principal, procedure, code, request_id, customer_ids
FROM audit_events
WHERE seq < sqlc.arg(before_seq)
  AND (sqlc.arg(customer_id)::bigint = 0 OR customer_ids @> ARRAY[sqlc.arg(customer_id)::bigint])
  AND (sqlc.arg(principal)::text = '' OR principal = sqlc.arg(principal)::text)
  AND (sqlc.arg(procedure)::text = '' OR procedure = sqlc.arg(procedure)::text)
  AND at >= sqlc.arg(start_time)::timestamptz AND at < sqlc.arg(end_time)::timestamptz
ORDER BY seq DESC
LIMIT sqlc.arg(max_events);

-- name: DeleteOldAuditEvents :execrows
-- Deletes at most batch events that happened before a time.
DELETE FROM audit_events
WHERE seq IN (
  SELECT seq FROM audit_events
  WHERE at < sqlc.arg(before)::timestamptz
  ORDER BY seq
  LIMIT sqlc.arg(batch)
);
