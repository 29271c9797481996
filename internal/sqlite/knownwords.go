package sqlite

import (
	"context"
	"strconv"

	"customerd/internal/sqlitedb"
)

// knownWords spares the writer most of the work of keeping search_terms:
// it remembers words that search_terms holds, and a note whose new values
// are ASCII and hold known words only is not tokenized again. For ASCII
// text, FTS5's unicode61 tokenizer is simple enough to reproduce exactly:
// letters and digits make words, everything else separates them, and
// letters are lowered. Other text always goes through FTS5. A word becomes
// known only once the transaction that added it has committed. Only the
// writer's goroutine uses it.
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
