-- The PostgreSQL queries of internal/postgres: the same verbs as
-- queries/customers.sql (SQLite). Rows are read with an explicit column list,
-- never *, so that the search vector and the sort keys stay in the database.

-- name: LockWrites :exec
-- Every write transaction of the store begins by taking the change feed's
-- advisory lock (see the migration): writers across all replicas then run
-- one after another, so seq follows commit order and no two writers can
-- deadlock on the lock the change trigger would otherwise take halfway.
SELECT pg_advisory_xact_lock(7173);

-- name: CreateCustomer :one
INSERT INTO customers (name, email, phone, address, search)
VALUES (sqlc.arg(name), sqlc.arg(email), sqlc.narg(phone), sqlc.narg(address),
        CAST(CAST(sqlc.arg(search) AS text) AS tsvector))
RETURNING id, name, email, phone, address, revision, created_at, updated_at;

-- name: GetCustomer :one
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c WHERE c.id = sqlc.arg(id);

-- name: GetCustomerForUpdate :one
-- The row an update or delete is about to change, locked until commit.
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c WHERE c.id = sqlc.arg(id) FOR UPDATE;

-- name: UpdateCustomer :one
-- Sets every field; the store passes the stored value for the ones it keeps.
-- The customers_touch trigger runs before the row is written, so RETURNING
-- shows the final revision and updated_at (and leaves them alone when
-- nothing changed).
UPDATE customers
SET name = sqlc.arg(name), email = sqlc.arg(email), phone = sqlc.narg(phone), address = sqlc.narg(address),
    search = CAST(CAST(sqlc.arg(search) AS text) AS tsvector)
WHERE id = sqlc.arg(id)
RETURNING id, name, email, phone, address, revision, created_at, updated_at;

-- name: DeleteCustomer :execrows
DELETE FROM customers WHERE id = sqlc.arg(id);

-- ListCustomers has one query per order, because SQL cannot take ORDER BY
-- as a parameter and each order needs its own keyset predicate and index.
-- Every query of a family takes the same parameters in the same order (the
-- first line of each WHERE names the ones it does not use), so the store
-- picks one from a table of typed functions: no SQL is assembled at run time.
--
--   after_value, after_id  the keyset cursor for name and email: the value
--                          and id of the last row of the previous page,
--                          compared ASCII-folded in byte order (SQLite's
--                          NOCASE)
--   after_time, after_id   the keyset cursor for create_time and update_time
--   updated_after          only rows updated later
--   match                  (search only, the first parameter) a tsquery
--                          built by the store from the user's words

-- name: ListCustomersByIDAsc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND c.id > CAST(sqlc.arg(after_id) AS bigint)
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.id
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByIDDesc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND c.id < CAST(sqlc.arg(after_id) AS bigint)
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByNameAsc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.name_key, c.id) > (ascii_fold(CAST(sqlc.arg(after_value) AS text)) COLLATE "C", CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.name_key, c.id
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByNameDesc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.name_key, c.id) < (ascii_fold(CAST(sqlc.arg(after_value) AS text)) COLLATE "C", CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.name_key DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByEmailAsc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.email_key, c.id) > (ascii_fold(CAST(sqlc.arg(after_value) AS text)) COLLATE "C", CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.email_key, c.id
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByEmailDesc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.email_key, c.id) < (ascii_fold(CAST(sqlc.arg(after_value) AS text)) COLLATE "C", CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.email_key DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByCreateTimeAsc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.created_at, c.id) > (CAST(sqlc.arg(after_time) AS timestamptz), CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.created_at, c.id
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByCreateTimeDesc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.created_at, c.id) < (CAST(sqlc.arg(after_time) AS timestamptz), CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.created_at DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByUpdateTimeAsc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.updated_at, c.id) > (CAST(sqlc.arg(after_time) AS timestamptz), CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.updated_at, c.id
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByUpdateTimeDesc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.updated_at, c.id) < (CAST(sqlc.arg(after_time) AS timestamptz), CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.updated_at DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByIDAsc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND c.id > CAST(sqlc.arg(after_id) AS bigint)
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.id
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByIDDesc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND c.id < CAST(sqlc.arg(after_id) AS bigint)
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByNameAsc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.name_key, c.id) > (ascii_fold(CAST(sqlc.arg(after_value) AS text)) COLLATE "C", CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.name_key, c.id
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByNameDesc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.name_key, c.id) < (ascii_fold(CAST(sqlc.arg(after_value) AS text)) COLLATE "C", CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.name_key DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByEmailAsc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.email_key, c.id) > (ascii_fold(CAST(sqlc.arg(after_value) AS text)) COLLATE "C", CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.email_key, c.id
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByEmailDesc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.email_key, c.id) < (ascii_fold(CAST(sqlc.arg(after_value) AS text)) COLLATE "C", CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.email_key DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByCreateTimeAsc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.created_at, c.id) > (CAST(sqlc.arg(after_time) AS timestamptz), CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.created_at, c.id
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByCreateTimeDesc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.created_at, c.id) < (CAST(sqlc.arg(after_time) AS timestamptz), CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.created_at DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByUpdateTimeAsc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.updated_at, c.id) > (CAST(sqlc.arg(after_time) AS timestamptz), CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.updated_at, c.id
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByUpdateTimeDesc :many
SELECT c.id, c.name, c.email, c.phone, c.address, c.revision, c.created_at, c.updated_at FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND CAST(sqlc.arg(after_value) AS text) IS NOT NULL AND CAST(sqlc.arg(after_time) AS timestamptz) IS NOT NULL
  AND (c.updated_at, c.id) < (CAST(sqlc.arg(after_time) AS timestamptz), CAST(sqlc.arg(after_id) AS bigint))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz)
ORDER BY c.updated_at DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: CountCustomers :one
-- The total of ListCustomers' include_total: the same filter, no cursor.
SELECT count(*) FROM customers c
WHERE c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz);

-- name: CountSearchCustomers :one
SELECT count(*) FROM customers c
WHERE c.search @@ CAST(CAST(sqlc.arg(match) AS text) AS tsquery)
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS timestamptz);

-- name: GetCreateRequest :one
-- A request_id remembered since created_after (older ones have expired).
SELECT fingerprint, customer_id FROM create_requests
WHERE request_id = sqlc.arg(request_id)
  AND created_at > CAST(sqlc.arg(created_after) AS timestamptz);

-- name: PutCreateRequest :one
-- Remembers a request_id, replacing an expired row the cleanup has not
-- deleted yet. No row comes back when a live row holds the key: another
-- create with this request_id committed first.
INSERT INTO create_requests (request_id, fingerprint, customer_id)
VALUES (sqlc.arg(request_id), sqlc.arg(fingerprint), sqlc.arg(customer_id))
ON CONFLICT (request_id) DO UPDATE
SET fingerprint = excluded.fingerprint,
    customer_id = excluded.customer_id,
    created_at = excluded.created_at
WHERE create_requests.created_at <= CAST(sqlc.arg(created_before) AS timestamptz)
RETURNING customer_id;

-- name: DeleteExpiredCreateRequests :execrows
-- Deletes at most batch expired rows, so that one cleanup transaction never
-- holds the write lock for long.
DELETE FROM create_requests
WHERE request_id IN (
  SELECT request_id FROM create_requests
  WHERE created_at <= CAST(sqlc.arg(created_before) AS timestamptz)
  ORDER BY created_at
  LIMIT sqlc.arg(batch)
);

-- name: ListChanges :many
-- Changes after a sequence number, in commit order.
SELECT seq, change, customer_id, name, email, phone, address, revision, created_at, updated_at, erased
FROM customer_changes
WHERE seq > sqlc.arg(after_seq)
ORDER BY seq
LIMIT sqlc.arg(max_changes);

-- name: OldestChange :one
-- 0 when there is no change.
SELECT coalesce((SELECT seq FROM customer_changes ORDER BY seq LIMIT 1), 0)::bigint AS seq;

-- name: NewestChange :one
SELECT coalesce((SELECT seq FROM customer_changes ORDER BY seq DESC LIMIT 1), 0)::bigint AS seq;

-- name: DeleteOldChanges :execrows
-- Deletes at most batch changes recorded before a time.
DELETE FROM customer_changes
WHERE seq IN (
  SELECT seq FROM customer_changes
  WHERE recorded_at <= CAST(sqlc.arg(recorded_before) AS timestamptz)
  ORDER BY seq
  LIMIT sqlc.arg(batch)
);

-- name: DatabaseSize :one
SELECT pg_database_size(current_database());
