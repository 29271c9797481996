// Package migrate applies the embedded dbmate migrations to a SQLite database
// through dbmate's library and a driver built on modernc.org/sqlite (dbmate's
// own SQLite driver needs cgo). Applied versions are recorded in the
// schema_migrations table exactly as the dbmate CLI records them, so the CLI
// and the server can be used on the same database file.
package migrate

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"strings"
	"unicode"

	"github.com/amacneil/dbmate/v2/pkg/dbmate"
	"github.com/amacneil/dbmate/v2/pkg/dbutil"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"customerd/db"
)

// scheme is the URL scheme the driver is registered under. The URL's opaque
// part is a modernc.org/sqlite data source name, pragmas included.
const scheme = "sqlite"

// migrationsTable is dbmate's default table name, which the CLI expects.
const migrationsTable = "schema_migrations"

func init() {
	dbmate.RegisterDriver(newDriver, scheme)
}

// Up applies every pending migration to the database named by dsn (a
// modernc.org/sqlite data source name) and writes dbmate's progress lines to
// log. It returns dbmate's error for a migration that fails; that migration's
// changes are rolled back.
func Up(dsn string, log io.Writer) error {
	return newDB(dsn, log).Migrate()
}

// Down rolls back the most recently applied migration. It returns
// dbmate.ErrNoRollback when no migration is applied.
func Down(dsn string, log io.Writer) error {
	return newDB(dsn, log).Rollback()
}

// Pending returns the file names of the embedded migrations that are not yet
// applied to the database, in the order they would be applied.
func Pending(dsn string) ([]string, error) {
	migrations, err := newDB(dsn, io.Discard).FindMigrations()
	if err != nil {
		return nil, err
	}
	var pending []string
	for _, m := range migrations {
		if !m.Applied {
			pending = append(pending, m.FileName)
		}
	}
	return pending, nil
}

func newDB(dsn string, log io.Writer) *dbmate.DB {
	m := dbmate.New(&url.URL{Scheme: scheme, Opaque: dsn})
	m.FS = migrationsFS()
	m.MigrationsDir = []string{"migrations"}
	m.MigrationsTableName = migrationsTable
	m.AutoDumpSchema = false // db/schema.sql is checked by a test instead
	m.Log = log
	return m
}

func migrationsFS() fs.FS { return db.Migrations }

// DumpSchema returns the schema of conn's database in the format of
// db/schema.sql, byte for byte what "dbmate dump" writes (the sqlite3 shell's
// ".schema --nosys", then the applied versions as an INSERT into
// schema_migrations), without needing the sqlite3 shell: every CREATE
// statement SQLite keeps in sqlite_schema, in the order it keeps them, the
// shadow tables of virtual tables included. Like the shell, it writes a
// CREATE TABLE of a quoted name as CREATE TABLE IF NOT EXISTS (so loading the
// dump does not trip over the shadow tables a CREATE VIRTUAL TABLE made) and
// follows a virtual table with a comment naming its columns.
func DumpSchema(ctx context.Context, conn *sql.DB) ([]byte, error) {
	rows, err := conn.QueryContext(ctx,
		`SELECT name, sql FROM sqlite_schema
		 WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
		 ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("read sqlite_schema: %w", err)
	}
	type object struct{ name, sql string }
	var objects []object
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.name, &o.sql); err != nil {
			rows.Close()
			return nil, err
		}
		objects = append(objects, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, o := range objects {
		stmt := o.sql
		if strings.HasPrefix(stmt, "CREATE VIRTUAL TABLE ") {
			cols, err := columnList(ctx, conn, o.name)
			if err != nil {
				return nil, err
			}
			stmt += "\n/* " + cols + " */"
		}
		if strings.HasPrefix(stmt, `CREATE TABLE "`) || strings.HasPrefix(stmt, "CREATE TABLE '") {
			stmt = "CREATE TABLE IF NOT EXISTS " + strings.TrimPrefix(stmt, "CREATE TABLE ")
		}
		if last := stmt[strings.LastIndexByte(stmt, '\n')+1:]; strings.Contains(last, "--") {
			stmt += "\n" // the shell ends a trailing line comment before the ";"
		}
		buf.WriteString(stmt)
		buf.WriteString(";\n")
	}
	versions, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	buf.WriteString("-- Dbmate schema migrations\n")
	if len(versions) > 0 {
		fmt.Fprintf(&buf, "INSERT INTO %q (version) VALUES\n  ('%s');\n",
			migrationsTable, strings.Join(versions, "'),\n  ('"))
	}
	return trimTrailingSpace(buf.Bytes()), nil
}

// columnList returns "name(col1,col2,...)" for a table, as the sqlite3 shell
// comments a virtual table in its schema dump; names that are not plain
// identifiers are double-quoted, as the shell quotes them.
func columnList(ctx context.Context, conn *sql.DB, table string) (string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return "", fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return "", err
		}
		cols = append(cols, shellQuote(c))
	}
	return shellQuote(table) + "(" + strings.Join(cols, ",") + ")", rows.Err()
}

// shellQuote double-quotes a name unless it is a plain identifier (a letter
// or underscore, then letters, digits and underscores).
func shellQuote(name string) string {
	for i, r := range name {
		if r != '_' && !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && (i == 0 || !(r >= '0' && r <= '9')) {
			return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
		}
	}
	return name
}

// trimTrailingSpace removes white space at the end of every line, as dbmate
// does to what it dumps.
func trimTrailingSpace(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimRightFunc(l, unicode.IsSpace)
	}
	return bytes.Join(lines, []byte("\n"))
}

func appliedVersions(ctx context.Context, conn *sql.DB) ([]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT version FROM "`+migrationsTable+`" ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", migrationsTable, err)
	}
	defer rows.Close()
	var versions []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		versions = append(versions, v)
	}
	return versions, rows.Err()
}

// driver implements dbmate.Driver on modernc.org/sqlite.
type driver struct {
	dsn string
	log io.Writer
}

func newDriver(cfg dbmate.DriverConfig) dbmate.Driver {
	dsn := cfg.DatabaseURL.Opaque
	if dsn == "" {
		// "sqlite:///abs/path" parses into Host and Path instead of Opaque.
		dsn = cfg.DatabaseURL.Host + cfg.DatabaseURL.Path
	}
	return &driver{dsn: dsn, log: cfg.Log}
}

func (d *driver) Open() (*sql.DB, error) { return sql.Open("sqlite", d.dsn) }

// DatabaseExists reports true: SQLite creates the file on first use, and the
// server never asks dbmate to create or drop it.
func (d *driver) DatabaseExists() (bool, error) { return true, nil }

func (d *driver) CreateDatabase() error { return d.Ping() }

func (d *driver) DropDatabase() error {
	return errors.New("migrate: dropping a database is not supported; remove the file")
}

func (d *driver) DumpSchema(conn *sql.DB) ([]byte, error) {
	return DumpSchema(context.Background(), conn)
}

func (d *driver) MigrationsTableExists(conn *sql.DB) (bool, error) {
	var n int
	err := conn.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`,
		migrationsTable).Scan(&n)
	return n > 0, err
}

// CreateMigrationsTable creates the table with the same definition as the
// dbmate CLI, so either can read what the other wrote.
func (d *driver) CreateMigrationsTable(conn *sql.DB) error {
	_, err := conn.Exec(`CREATE TABLE IF NOT EXISTS "` + migrationsTable + `" (version varchar(128) primary key)`)
	return err
}

func (d *driver) SelectMigrations(conn *sql.DB, limit int) (map[string]bool, error) {
	query := `SELECT version FROM "` + migrationsTable + `" ORDER BY version DESC`
	if limit >= 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := conn.Query(query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	versions := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		versions[v] = true
	}
	return versions, rows.Err()
}

func (d *driver) InsertMigration(tx dbutil.Transaction, version string) error {
	_, err := tx.Exec(`INSERT INTO "`+migrationsTable+`" (version) VALUES (?)`, version)
	return err
}

func (d *driver) DeleteMigration(tx dbutil.Transaction, version string) error {
	_, err := tx.Exec(`DELETE FROM "`+migrationsTable+`" WHERE version = ?`, version)
	return err
}

func (d *driver) Ping() error {
	conn, err := d.Open()
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Ping()
}

func (d *driver) QueryError(query string, err error) error {
	return &dbmate.QueryError{Err: err, Query: query}
}
