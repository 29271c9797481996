-- name: ListCustomerChanges :many
-- Every change kept for one customer, in commit order. (customer_changes
-- has no index by customer: every write would pay for it; an export reads
-- the day of changes the feed keeps.)
SELECT seq, change, customer_id, name, email, phone, address, revision, created_at, updated_at, erased
FROM customer_changes
WHERE customer_id = sqlc.arg(customer_id)
ORDER BY seq;

-- name: EraseChanges :execrows
-- Turns every change of one customer into a tombstone without values.
UPDATE customer_changes
SET name = '', email = '', phone = NULL, address = NULL, erased = 1
WHERE customer_id = sqlc.arg(customer_id) AND NOT erased;

-- name: DeleteCreateRequestsOf :exec
-- Forgets the request_ids of one customer's creates (their fingerprints
-- are hashes of its values).
DELETE FROM create_requests WHERE customer_id = sqlc.arg(customer_id);

-- name: SearchTermsPrune :exec
-- Deletes the words of search_terms that the full-text index no longer
-- holds (reading the index's vocabulary costs in proportion to the index).
DELETE FROM search_terms WHERE term NOT IN (SELECT t.term FROM customers_fts_terms t);

-- name: StillHeld :many
-- The ids, of the JSON array ids, that the database still holds values of:
-- a customer row or a change that is not a tombstone (what EraseCustomer
-- finds to erase). It reads each table once for all the ids, where asking
-- EraseCustomer id by id scans customer_changes, which has no index by
-- customer, once per id.
SELECT c.id FROM customers c
WHERE c.id IN (SELECT value FROM json_each(CAST(sqlc.arg(ids) AS TEXT)))
UNION
SELECT ch.customer_id FROM customer_changes ch
WHERE NOT ch.erased AND ch.customer_id IN (SELECT value FROM json_each(CAST(sqlc.arg(ids) AS TEXT)));
