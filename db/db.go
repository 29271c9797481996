// Package db embeds the dbmate migrations and the schema they produce, so
// that the server binary carries its own schema.
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
