package sqlite

import (
	"database/sql"
	"slices"
	"strings"
	"testing"

	"customerd/internal/customer"
)

// asciiWords must make of ASCII text exactly the words FTS5's tokenizer
// (as the index is configured) makes of it: the writer skips FTS5 for
// notes whose words asciiWords says are known.
func TestASCIIWordsAreFTS5Words(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{
		`CREATE VIRTUAL TABLE f USING fts5(t, content = '', detail = 'none', tokenize = 'unicode61 remove_diacritics 2')`,
		`CREATE VIRTUAL TABLE v USING fts5vocab(f, 'row')`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	var all []byte
	for c := 0; c < 0x80; c++ {
		all = append(all, 'a', byte(c), 'B', '7')
	}
	for _, s := range []string{
		"", " ", "Ada Lovelace", "ada.lovelace+tag@Example.COM", "+44 (20) 7946-0000", "42 High St., London",
		"under_score tab\there new\nline", "MiXeD123case 0x1F", "a-b_c.d/e\\f'g\"h", "!!!", string(all),
	} {
		if _, err := db.Exec(`DELETE FROM f`); err != nil {
			if _, err := db.Exec(`INSERT INTO f (f) VALUES ('delete-all')`); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec(`INSERT INTO f (t) VALUES (?)`, s); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(`SELECT term FROM v ORDER BY term`)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for rows.Next() {
			var w string
			if err := rows.Scan(&w); err != nil {
				t.Fatal(err)
			}
			want = append(want, w)
		}
		rows.Close()
		got, ascii := asciiWords(s)
		if !ascii {
			t.Fatalf("asciiWords(%q) says it is not ASCII", s)
		}
		slices.Sort(got)
		got = slices.Compact(got)
		if !slices.Equal(got, want) {
			t.Errorf("asciiWords(%q) = %q, FTS5 makes %q", s, got, want)
		}
	}
	if _, ascii := asciiWords("Zoë"); ascii {
		t.Error(`asciiWords("Zoë") says it is ASCII`)
	}
}

// ftsQuery is the plain FTS5 query for a search query in canonical form:
// every word a quoted prefix. The tests compare searchMatch's results with
// it; it returns false when no word can match.
func ftsQuery(q string) (string, bool) {
	var b strings.Builder
	for _, w := range customer.QueryWords(q) {
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(ftsPrefix(w))
	}
	return b.String(), b.Len() > 0
}
