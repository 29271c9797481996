-- name: ListCustomerChanges :many
-- Every change kept for one customer, in commit order.
SELECT seq, change, customer_id, name, email, phone, address, revision, created_at, updated_at, erased
FROM customer_changes
WHERE customer_id = sqlc.arg(customer_id)
ORDER BY seq;

-- name: EraseChanges :execrows
-- Turns every change of one customer into a tombstone without values.
UPDATE customer_changes
SET name = '', email = '', phone = NULL, address = NULL, erased = true
WHERE customer_id = sqlc.arg(customer_id) AND NOT erased;

-- name: DeleteCreateRequestsOf :exec
-- Forgets the request_ids of one customer's creates.
DELETE FROM create_requests WHERE customer_id = sqlc.arg(customer_id);

-- name: StillHeld :many
-- The ids, of ids, that the database still holds values of: a customer row
-- or a change that is not a tombstone (what EraseCustomer finds to erase),
-- in one query for all the ids.
SELECT c.id FROM customers c WHERE c.id = ANY(sqlc.arg(ids)::bigint[])
UNION
SELECT ch.customer_id FROM customer_changes ch WHERE NOT ch.erased AND ch.customer_id = ANY(sqlc.arg(ids)::bigint[]);
