package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

// Search, in one place. Customers are found by the words of their
// searchable columns, which db/migrations lists once, in the FTS5 table
// customers_fts and the triggers that note changes to it (see
// docs/architecture.md, "Adding a searchable field"):
//
//   - Writes do not touch the index: triggers note the customers they
//     change in customers_fts_pending, and the batch actor brings the index
//     (and search_terms, the words it holds) up to date once per
//     transaction, before COMMIT (UpdateSearchIndex, knownWords).
//   - A search runs one matcher, searchMatch, for both ListCustomers and
//     CountCustomers: the user's words (customer.QueryWords) become an FTS5
//     query in which each must start a word of some column.

// maxWordsPerPrefix is the most words of the index a search word's prefix
// may stand for to be searched as those words. FTS5 reads a query of words
// lazily, but sets each word up in every segment of the index: past a few
// words, the prefix itself is cheaper.
const maxWordsPerPrefix = 16

// searchMatch returns the FTS5 query for a search query in canonical form
// (customer.NormalizeQuery): every word that can match
// (customer.QueryWords) must match the start of a word in some column. It
// reads search_terms with q, in the transaction the search will run in, so
// that the words search_terms lists and the index agree; it returns "" when
// nothing can match. A word of ASCII letters and digits only (asciiWords: its
// FTS5 word is the word in lower case) that is the prefix of at most
// maxWordsPerPrefix words of the index becomes those words, ("london" OR
// "londoner"), which FTS5 reads lazily, in rowid order; asked for the
// prefix itself, FTS5 first merges the lists of every matching word, in
// proportion to all the customers they hold. A word that starts no word at
// all means nothing matches, and searchMatch returns "". Other words stay
// prefixes. Each word is quoted (ftsWord), so no FTS5 syntax from the user
// is ever interpreted.
func searchMatch(ctx context.Context, q *sqlitedb.Queries, query string) (string, error) {
	var b strings.Builder
	for _, w := range customer.QueryWords(query) {
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		tokens, ascii := asciiWords(w)
		if !ascii || len(tokens) != 1 || len(tokens[0]) != len(w) {
			b.WriteString(ftsPrefix(w)) // not one word of letters and digits
			continue
		}
		lower := tokens[0]
		terms, err := q.SearchTermsFrom(ctx, sqlitedb.SearchTermsFromParams{
			First: lower, Past: lower + "\xff", MaxTerms: maxWordsPerPrefix + 1,
		})
		switch {
		case err != nil:
			return "", err
		case len(terms) == 0:
			return "", nil // no customer has a word that starts so
		case len(terms) > maxWordsPerPrefix:
			b.WriteString(ftsPrefix(w))
		default:
			b.WriteString("(")
			for i, t := range terms {
				if i > 0 {
					b.WriteString(" OR ")
				}
				b.WriteString(ftsWord(t))
			}
			b.WriteString(")")
		}
	}
	return b.String(), nil
}

// ftsWord quotes w for an FTS5 query: a quoted string, so that no FTS5
// syntax from the user is ever interpreted.
func ftsWord(w string) string { return `"` + strings.ReplaceAll(w, `"`, `""`) + `"` }

// ftsPrefix quotes w for an FTS5 query as a prefix.
func ftsPrefix(w string) string { return ftsWord(w) + "*" }

// updateSearchIndexNow runs UpdateSearchIndex in a transaction of its own
// on conn.
func updateSearchIndexNow(conn *sql.DB) error {
	ctx := context.Background()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if err := UpdateSearchIndex(ctx, sqlitedb.New(tx)); err != nil {
		return err
	}
	return tx.Commit()
}

// UpdateSearchIndex brings the full-text index up to date with the
// customers changed since it last ran (noted by triggers, see
// db/migrations/20261126020000_search_index_per_transaction.sql). The
// store runs it once per transaction, before COMMIT (writes.Prepare),
// because FTS5 writes a new index segment each time a statement that fires
// triggers begins after it was written to. Code that writes customers with the
// generated queries outside the store should run it before committing too.
// It returns the database's error, if any; the transaction should then be
// rolled back.
func UpdateSearchIndex(ctx context.Context, q *sqlitedb.Queries) error {
	return new(knownWords).update(ctx, q) // knowing no word: every note is tokenized
}

// knownWords spares the batch actor most of the work of keeping
// search_terms: it remembers words that search_terms holds, and a note whose new values
// are ASCII and hold known words only is not tokenized again. For ASCII
// text, FTS5's unicode61 tokenizer is simple enough to reproduce exactly:
// letters and digits make words, everything else separates them, and
// letters are lowered. Other text always goes through FTS5. A word becomes
// known only once the transaction that added it has committed. Only the
// batch actor's goroutine uses it.
type knownWords struct {
	words map[string]struct{}
	fresh []string // this transaction's, known after its COMMIT
	ids   []byte   // the notes to tokenize, as a JSON array
}

// maxKnownWords bounds the memory knownWords takes (tens of bytes a word):
// past it, it starts over.
const maxKnownWords = 200_000

// reset forgets this transaction's words (before it runs, or runs again).
func (k *knownWords) reset() { k.fresh = k.fresh[:0] }

// forget forgets every known word: some may have left search_terms.
func (k *knownWords) forget() { k.words = nil }

// committed makes this transaction's words known.
func (k *knownWords) committed() {
	if len(k.fresh) == 0 {
		return
	}
	if k.words == nil || len(k.words)+len(k.fresh) > maxKnownWords {
		k.words = make(map[string]struct{}, len(k.fresh))
	}
	for _, w := range k.fresh {
		k.words[w] = struct{}{}
	}
	k.fresh = k.fresh[:0]
}

// update does what UpdateSearchIndex documents, having FTS5 tokenize only
// the notes whose words k does not know. The words of the noted customers'
// new values join search_terms first: FTS5 writes what it holds out to
// disk at the start of every later statement of the transaction, so the
// index, written last, writes once, at COMMIT.
func (k *knownWords) update(ctx context.Context, q *sqlitedb.Queries) error {
	notes, err := q.SearchTermsNotes(ctx)
	if err != nil {
		return err
	}
	k.ids = append(k.ids[:0], '[')
	for _, n := range notes {
		words, ascii := asciiWords(n.Added)
		if ascii && k.allKnown(words) {
			continue
		}
		if len(k.ids) > 1 {
			k.ids = append(k.ids, ',')
		}
		k.ids = strconv.AppendInt(k.ids, n.ID, 10)
		if ascii {
			k.fresh = append(k.fresh, words...)
		}
	}
	if len(k.ids) > 1 {
		k.ids = append(k.ids, ']')
		if err := q.SearchTermsStage(ctx, string(k.ids)); err != nil {
			return err
		}
		if err := q.SearchTermsAddStaged(ctx); err != nil {
			return err
		}
		if err := q.SearchTermsClearStage(ctx); err != nil {
			return err
		}
	}
	if err := q.SearchIndexApplyNotes(ctx); err != nil {
		return err
	}
	return q.SearchIndexClearNotes(ctx)
}

func (k *knownWords) allKnown(words []string) bool {
	for _, w := range words {
		if _, ok := k.words[w]; !ok {
			return false
		}
	}
	return true
}

// asciiWords returns the words FTS5's unicode61 tokenizer makes of s, and
// true, when s is ASCII; false otherwise.
func asciiWords(s string) ([]string, bool) {
	var words []string
	start := -1
	lower := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return nil, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		switch {
		case alnum && start < 0:
			start = i
		case !alnum && start >= 0:
			words = append(words, string(lower[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		words = append(words, string(lower[start:]))
	}
	return words, true
}
