-- For sqlc only, never applied: the columns of the fts5vocab tables that
-- db/migrations creates (sqlc does not know that module's columns).
CREATE TABLE customers_fts_terms (term TEXT NOT NULL, doc INTEGER NOT NULL, cnt INTEGER NOT NULL);
CREATE TABLE customers_fts_stage_terms (term TEXT NOT NULL, doc INTEGER NOT NULL, cnt INTEGER NOT NULL);
