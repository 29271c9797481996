// Package postgres keeps customers in PostgreSQL. It implements
// customer.Store and customer.ChangeFeed with the contract of the SQLite
// engine (internal/sqlite), so that several customerd replicas can serve one
// database:
//
//   - Open applies the embedded migrations (db/postgres) with dbmate's
//     library and its postgres driver, under an advisory lock, so replicas
//     that start together migrate once.
//   - Every write runs in a transaction that first takes the change feed's
//     advisory lock: writers of all replicas commit one after another, so
//     the change feed's seq follows commit order. Serialization failures and
//     deadlocks are retried.
//   - Names and emails sort and collide as under SQLite's NOCASE: folded in
//     ASCII only, then compared byte by byte (see the migration).
//   - Search mirrors SQLite's FTS5 unicode61 tokenizer with
//     remove_diacritics 2 (see search.go) over a tsvector column.
//   - Watchers wake on LISTEN/NOTIFY, so a commit through any replica wakes
//     them on every replica, with a one-second poll as a fallback.
package postgres
