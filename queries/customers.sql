-- name: CreateCustomer :one
-- No trigger fires on insert, so RETURNING shows the stored row.
INSERT INTO customers (name, email, phone, address)
VALUES (sqlc.arg(name), sqlc.arg(email), sqlc.narg(phone), sqlc.narg(address))
RETURNING *;

-- name: GetCustomer :one
SELECT * FROM customers WHERE id = sqlc.arg(id);

-- name: GetCustomersIn :many
-- The customers whose ids the JSON array ids holds, in no particular order.
SELECT * FROM customers WHERE id IN (SELECT value FROM json_each(CAST(sqlc.arg(ids) AS TEXT)));

-- The UpdateCustomer* queries apply a field mask. Name and email are
-- indexed, so each has its own query per choice of writing them or not:
-- SQLite rewrites the index entries of every column an UPDATE assigns, even
-- to its own value, and a mask that leaves name or email alone should not
-- pay for that. Phone and address have no index; each has a "set" flag, so
-- that a mask can also clear it (COALESCE could not tell "clear" from
-- "keep"). RETURNING is not used: it would show updated_at from before the
-- customers_touch trigger.

-- name: UpdateCustomer :execrows
UPDATE customers
SET name    = sqlc.arg(name),
    email   = sqlc.arg(email),
    phone   = CASE WHEN CAST(sqlc.arg(set_phone) AS BOOLEAN) THEN sqlc.narg(phone) ELSE phone END,
    address = CASE WHEN CAST(sqlc.arg(set_address) AS BOOLEAN) THEN sqlc.narg(address) ELSE address END
WHERE id = sqlc.arg(id);

-- name: UpdateCustomerKeepEmail :execrows
UPDATE customers
SET name    = sqlc.arg(name),
    phone   = CASE WHEN CAST(sqlc.arg(set_phone) AS BOOLEAN) THEN sqlc.narg(phone) ELSE phone END,
    address = CASE WHEN CAST(sqlc.arg(set_address) AS BOOLEAN) THEN sqlc.narg(address) ELSE address END
WHERE id = sqlc.arg(id);

-- name: UpdateCustomerKeepName :execrows
UPDATE customers
SET email   = sqlc.arg(email),
    phone   = CASE WHEN CAST(sqlc.arg(set_phone) AS BOOLEAN) THEN sqlc.narg(phone) ELSE phone END,
    address = CASE WHEN CAST(sqlc.arg(set_address) AS BOOLEAN) THEN sqlc.narg(address) ELSE address END
WHERE id = sqlc.arg(id);

-- name: UpdateCustomerKeepNameEmail :execrows
UPDATE customers
SET phone   = CASE WHEN CAST(sqlc.arg(set_phone) AS BOOLEAN) THEN sqlc.narg(phone) ELSE phone END,
    address = CASE WHEN CAST(sqlc.arg(set_address) AS BOOLEAN) THEN sqlc.narg(address) ELSE address END
WHERE id = sqlc.arg(id);

-- name: DeleteCustomer :execrows
DELETE FROM customers WHERE id = sqlc.arg(id);

-- ListCustomers has one query per order, because SQL cannot take ORDER BY
-- as a parameter and each order needs its own keyset predicate and index.
-- There are two families. ListCustomersBy* walk the order's index from the
-- cursor. SearchCustomersBy* start from the full-text matches instead
-- (walking the order's index would scan the whole table when nothing
-- matches): in id order they read the matches in rowid order and stop after
-- a page; in the other orders they sort the matches, so a page costs in
-- proportion to the matches. The unary + keeps the planner off the order's
-- index without changing the comparison (a column with + keeps its
-- collation).
-- Within a family every query takes the same parameters in the same order,
-- so the store picks one from a table of typed functions: no SQL is
-- assembled at run time.
--
--   after_value, after_id  the keyset cursor: the sort value and id of the
--                          last row of the previous page. The first page
--                          passes a value before every row: '' and 0
--                          ascending, '\xff' and max int64 descending.
--   updated_after          only rows updated later ('' for all rows), in the
--                          text form of the timestamps, which sorts in time
--   match                  (search only, the first parameter) an FTS5 query
--                          over name, email, phone and address
--
-- The id variants take after_value too, and ignore it.
--
-- A page query returns each row's id and revision only: the store takes
-- the customer from its cache when the cache holds that very revision, and
-- reads the others with GetCustomersIn in the same read transaction (see
-- internal/sqlite/list.go), so a page of hot customers decodes two columns
-- a row instead of eight.

-- name: ListCustomersByIDAsc :many
SELECT c.id, c.revision FROM customers c
WHERE CAST(sqlc.arg(after_value) AS TEXT) IS NOT NULL
  AND c.id > CAST(sqlc.arg(after_id) AS INTEGER)
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.id
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByIDDesc :many
SELECT c.id, c.revision FROM customers c
WHERE CAST(sqlc.arg(after_value) AS TEXT) IS NOT NULL
  AND c.id < CAST(sqlc.arg(after_id) AS INTEGER)
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByNameAsc :many
SELECT c.id, c.revision FROM customers c
WHERE (c.name, c.id) > (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.name, c.id
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByNameDesc :many
SELECT c.id, c.revision FROM customers c
WHERE (c.name, c.id) < (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.name DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByEmailAsc :many
SELECT c.id, c.revision FROM customers c
WHERE (c.email, c.id) > (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.email, c.id
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByEmailDesc :many
SELECT c.id, c.revision FROM customers c
WHERE (c.email, c.id) < (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.email DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByCreateTimeAsc :many
SELECT c.id, c.revision FROM customers c
WHERE (c.created_at, c.id) > (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.created_at, c.id
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByCreateTimeDesc :many
SELECT c.id, c.revision FROM customers c
WHERE (c.created_at, c.id) < (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.created_at DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByUpdateTimeAsc :many
SELECT c.id, c.revision FROM customers c
WHERE (c.updated_at, c.id) > (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.updated_at, c.id
LIMIT sqlc.arg(page_limit);

-- name: ListCustomersByUpdateTimeDesc :many
SELECT c.id, c.revision FROM customers c
WHERE (c.updated_at, c.id) < (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.updated_at DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByIDAsc :many
SELECT c.id, c.revision FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)) f
JOIN customers c ON c.id = f.rowid
WHERE CAST(sqlc.arg(after_value) AS TEXT) IS NOT NULL
  AND f.rowid > CAST(sqlc.arg(after_id) AS INTEGER)
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY f.rowid
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByIDDesc :many
SELECT c.id, c.revision FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)) f
JOIN customers c ON c.id = f.rowid
WHERE CAST(sqlc.arg(after_value) AS TEXT) IS NOT NULL
  AND f.rowid < CAST(sqlc.arg(after_id) AS INTEGER)
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY f.rowid DESC
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByNameAsc :many
SELECT c.id, c.revision FROM customers c
WHERE c.id IN (SELECT rowid FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)))
  AND (+c.name, c.id) > (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.name, c.id
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByNameDesc :many
SELECT c.id, c.revision FROM customers c
WHERE c.id IN (SELECT rowid FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)))
  AND (+c.name, c.id) < (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.name DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByEmailAsc :many
SELECT c.id, c.revision FROM customers c
WHERE c.id IN (SELECT rowid FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)))
  AND (+c.email, c.id) > (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.email, c.id
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByEmailDesc :many
SELECT c.id, c.revision FROM customers c
WHERE c.id IN (SELECT rowid FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)))
  AND (+c.email, c.id) < (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.email DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByCreateTimeAsc :many
SELECT c.id, c.revision FROM customers c
WHERE c.id IN (SELECT rowid FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)))
  AND (+c.created_at, c.id) > (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.created_at, c.id
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByCreateTimeDesc :many
SELECT c.id, c.revision FROM customers c
WHERE c.id IN (SELECT rowid FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)))
  AND (+c.created_at, c.id) < (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.created_at DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByUpdateTimeAsc :many
SELECT c.id, c.revision FROM customers c
WHERE c.id IN (SELECT rowid FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)))
  AND (+c.updated_at, c.id) > (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.updated_at, c.id
LIMIT sqlc.arg(page_limit);

-- name: SearchCustomersByUpdateTimeDesc :many
SELECT c.id, c.revision FROM customers c
WHERE c.id IN (SELECT rowid FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)))
  AND (+c.updated_at, c.id) < (CAST(sqlc.arg(after_value) AS TEXT), CAST(sqlc.arg(after_id) AS INTEGER))
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT)
ORDER BY c.updated_at DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: CountCustomers :one
-- The total of ListCustomers' include_total: the same filter, no cursor.
SELECT count(*) FROM customers c
WHERE c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT);

-- name: CountSearchCustomers :one
SELECT count(*) FROM customers c
WHERE c.id IN (SELECT rowid FROM customers_fts(CAST(sqlc.arg(match) AS TEXT)))
  AND +c.updated_at > CAST(sqlc.arg(updated_after) AS TEXT);

-- name: GetCreateRequest :one
-- A request_id remembered since created_after (older ones have expired).
SELECT fingerprint, customer_id FROM create_requests
WHERE request_id = sqlc.arg(request_id)
  AND created_at > CAST(sqlc.arg(created_after) AS TEXT);

-- name: PutCreateRequest :exec
-- Remembers a request_id, replacing an expired row the cleanup has not
-- deleted yet.
INSERT INTO create_requests (request_id, fingerprint, customer_id)
VALUES (sqlc.arg(request_id), sqlc.arg(fingerprint), sqlc.arg(customer_id))
ON CONFLICT (request_id) DO UPDATE
SET fingerprint = excluded.fingerprint,
    customer_id = excluded.customer_id,
    created_at = excluded.created_at;

-- name: DeleteExpiredCreateRequests :execrows
-- Deletes at most batch expired rows, so that one cleanup transaction never
-- holds the write lock for long.
DELETE FROM create_requests
WHERE request_id IN (
  SELECT request_id FROM create_requests
  WHERE created_at <= CAST(sqlc.arg(created_before) AS TEXT)
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
-- Two single-row reads of the primary key, not one min/max over the table,
-- which SQLite would answer by scanning it; 0 when there is no change.
SELECT CAST(ifnull((SELECT seq FROM customer_changes ORDER BY seq LIMIT 1), 0) AS INTEGER) AS seq;

-- name: NewestChange :one
SELECT CAST(ifnull((SELECT seq FROM customer_changes ORDER BY seq DESC LIMIT 1), 0) AS INTEGER) AS seq;

-- name: DeleteOldChanges :execrows
-- Deletes those of the oldest batch changes that were recorded before a
-- time. Changes are recorded in seq order, so the expired ones come first:
-- fewer than batch deleted means none is left. (recorded_at has no index:
-- every write would pay for it.)
DELETE FROM customer_changes
WHERE seq IN (
  SELECT seq FROM (SELECT seq, recorded_at FROM customer_changes ORDER BY seq LIMIT sqlc.arg(batch))
  WHERE recorded_at <= CAST(sqlc.arg(recorded_before) AS TEXT)
);

-- The SearchIndex* queries bring the full-text index up to date with the
-- notes the customers_fts_note_* triggers leave in customers_fts_pending
-- (see db/migrations/20261126020000_search_index_per_transaction.sql). The
-- writer runs them before every COMMIT.

-- name: SearchIndexApplyNotes :exec
-- FTS5 writes what it holds in memory out to disk as a new segment (and
-- merges segments) whenever a statement that may need a statement rollback
-- begins after it was written to, and whenever it is given a rowid lower
-- than the one before (or the same, other than an addition after a
-- removal). So this is one statement, in rowid order, each customer's
-- removal (step 0) before its addition (step 1): the index then writes
-- once per transaction, at COMMIT. FTS5 needs the indexed values
-- themselves to find the entries to remove; the notes hold them. The notes
-- are read before customers (CROSS JOIN), never the other way round:
-- statistics taken while many notes were waiting (a bulk load) would
-- otherwise make SQLite scan customers.
INSERT INTO customers_fts (customers_fts, rowid, name, email, phone, address)
SELECT command, id, name, email, phone, address FROM (
  SELECT 0 AS step, 'delete' AS command, p.id, p.name, p.email, p.phone, p.address
  FROM customers_fts_pending p WHERE p.indexed = 1
  UNION ALL
  SELECT 1, NULL, c.id, c.name, c.email, c.phone, c.address
  FROM customers_fts_pending p CROSS JOIN customers c ON c.id = p.id
)
ORDER BY id, step;

-- name: SearchIndexClearNotes :exec
DELETE FROM customers_fts_pending;

-- The SearchTerms* queries keep search_terms, every word the full-text
-- index holds (see db/migrations/20261126050000_search_terms.sql): the
-- values the noted customers gained are tokenized by FTS5 itself, in
-- customers_fts_stage, whose words are then added. The writer runs them
-- in this order before SearchIndexApplyNotes (see internal/sqlite's
-- knownWords.update, which skips the notes whose words it knows).

-- name: SearchTermsNotes :many
-- The noted customers that gained values, and the values.
SELECT p.id, p.added FROM customers_fts_pending p WHERE p.added <> '';

-- name: SearchTermsStage :exec
-- Tokenizes the new values of the noted customers whose ids the JSON array
-- holds.
INSERT INTO customers_fts_stage (rowid, added)
SELECT p.id, p.added FROM customers_fts_pending p
WHERE p.id IN (SELECT value FROM json_each(CAST(sqlc.arg(ids) AS TEXT)));

-- name: SearchTermsAddStaged :exec
INSERT OR IGNORE INTO search_terms (term) SELECT t.term FROM customers_fts_stage_terms t;

-- name: SearchTermsClearStage :exec
INSERT INTO customers_fts_stage (customers_fts_stage) VALUES ('delete-all');

-- name: SearchTermsFrom :many
-- At most max_terms words from first (inclusive) to past (exclusive), in
-- order: the words a prefix stands for.
SELECT term FROM search_terms
WHERE term >= CAST(sqlc.arg(first) AS TEXT) AND term < CAST(sqlc.arg(past) AS TEXT)
ORDER BY term
LIMIT sqlc.arg(max_terms);
