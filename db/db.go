// Package db embeds the dbmate migrations and the schema they produce, so
// that the server binary carries its own schema: the SQLite ones under
// migrations/ and schema.sql, the PostgreSQL ones under postgres/.
package db

import "embed"

// Migrations holds the dbmate migration files under "migrations/".
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Schema is db/schema.sql: the schema of a database with every migration
// applied, in the format that dbmate dump writes.
//
//go:embed schema.sql
var Schema string

// PostgresMigrations holds the dbmate migration files of the PostgreSQL
// engine under "postgres/migrations/".
//
//go:embed postgres/migrations/*.sql
var PostgresMigrations embed.FS

// PostgresSchema is db/postgres/schema.sql: the PostgreSQL schema with
// every migration applied, as dbmate dump (pg_dump) writes it.
//
//go:embed postgres/schema.sql
var PostgresSchema string
