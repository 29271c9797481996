-- name: CreateCustomer :one
-- No trigger fires on insert, so RETURNING shows the stored row.
INSERT INTO customers (name, email, phone, address)
VALUES (sqlc.arg(name), sqlc.arg(email), sqlc.narg(phone), sqlc.narg(address))
RETURNING *;

-- name: GetCustomer :one
SELECT * FROM customers WHERE id = sqlc.arg(id);

-- name: UpdateCustomer :execrows
-- Each column has its own "set" flag so that a field mask can also clear a
-- nullable column (COALESCE could not tell "clear" from "keep"). RETURNING is
-- not used: it would show updated_at from before the customers_touch trigger.
UPDATE customers
SET name    = CASE WHEN CAST(sqlc.arg(set_name) AS BOOLEAN) THEN sqlc.arg(name) ELSE name END,
    email   = CASE WHEN CAST(sqlc.arg(set_email) AS BOOLEAN) THEN sqlc.arg(email) ELSE email END,
    phone   = CASE WHEN CAST(sqlc.arg(set_phone) AS BOOLEAN) THEN sqlc.narg(phone) ELSE phone END,
    address = CASE WHEN CAST(sqlc.arg(set_address) AS BOOLEAN) THEN sqlc.narg(address) ELSE address END
WHERE id = sqlc.arg(id);

-- name: DeleteCustomer :execrows
DELETE FROM customers WHERE id = sqlc.arg(id);

-- name: ListCustomers :many
-- Keyset pagination on the primary key: the page starts after the last id of
-- the previous page, so rows inserted or deleted in between never shift it.
SELECT * FROM customers
WHERE id > sqlc.arg(after_id)
ORDER BY id
LIMIT sqlc.arg(page_limit);
