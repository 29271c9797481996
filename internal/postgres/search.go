package postgres

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"customerd/internal/customer"
)

// Search in the SQLite engine is an FTS5 index with the tokenizer
// "unicode61 remove_diacritics 2". This file reproduces that tokenizer, so
// that the PostgreSQL engine finds exactly the same customers: the store
// writes the words of each customer into a tsvector (searchDocument) and
// turns the user's words into a tsquery (searchQuery). PostgreSQL's own text
// parser is not used: it keeps an email address as one token, and its
// notion of a letter depends on the database's locale.
//
// unicode61, as observed on modernc.org/sqlite:
//   - token characters are letters (L*), numbers (N*), private-use
//     characters (Co) and the combining diacritical marks; anything else
//     separates words, so "john.doe@example.com" holds john, doe, example
//     and com;
//   - letters are case-folded (σ and ς both become σ, ſ becomes s), except
//     that the dotless ı stays as it is;
//   - a Latin letter with diacritics becomes its ASCII base letter (é → e,
//     ǖ → u), a combining diacritical mark is dropped, and every other
//     letter (ß, ł, ø, Greek with accents) stays as it is.

// isTokenRune reports whether r is part of a word.
func isTokenRune(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.Co) || isDiacritic(r)
}

// isDiacritic reports whether r is one of the combining diacritical marks
// (U+0300 to U+036F) that unicode61 removes.
func isDiacritic(r rune) bool { return r >= 0x300 && r <= 0x36f }

// foldRune lowers r and strips the diacritics of a Latin letter; it returns
// -1 for a mark that unicode61 drops.
func foldRune(r rune) rune {
	if isDiacritic(r) {
		return -1
	}
	if r != 'ı' {
		r = unicode.ToLower(unicode.ToUpper(r))
	}
	if r < utf8.RuneSelf {
		return r
	}
	// A letter whose canonical decomposition is an ASCII letter followed by
	// marks only (é, ǖ, ṩ) is that letter.
	d := norm.NFD.String(string(r))
	if len(d) > 1 && d[0] < utf8.RuneSelf && unicode.IsLetter(rune(d[0])) {
		for _, m := range d[1:] {
			if !unicode.Is(unicode.Mn, m) {
				return r
			}
		}
		return unicode.ToLower(rune(d[0]))
	}
	return r
}

// words splits s into unicode61's folded words.
func words(s string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range s {
		if !isTokenRune(r) {
			flush()
			continue
		}
		if f := foldRune(r); f >= 0 {
			b.WriteRune(f)
		}
	}
	flush()
	return out
}

// columnGap separates the word positions of the columns in a search
// document: the first column's words start at position 1, the second's at
// columnGap+1, and so on. No column has columnGap words (the longest,
// address, has at most 500 characters), so a phrase never matches across
// two columns, as in FTS5, and positions stay below tsvector's 16383.
const columnGap = 1000

// searchColumns lists the searchable columns of a customer, in the order of
// their positions in the search document: the one list of them for this
// engine (see docs/architecture.md, "Adding a searchable field").
func searchColumns(name, email string, phone, address *string) []*string {
	return []*string{&name, &email, phone, address}
}

// searchDocument returns the tsvector, in its text form, holding the words
// of the searchable columns of a customer (searchColumns), each at its
// position.
func searchDocument(columns []*string) string {
	positions := map[string][]int{}
	var lexemes []string
	for i, col := range columns {
		if col == nil {
			continue
		}
		for j, w := range words(*col) {
			if _, ok := positions[w]; !ok {
				lexemes = append(lexemes, w)
			}
			positions[w] = append(positions[w], i*columnGap+j+1)
		}
	}
	slices.Sort(lexemes)
	var b strings.Builder
	for _, w := range lexemes {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quoteLexeme(w))
		for k, p := range positions[w] {
			if k == 0 {
				b.WriteByte(':')
			} else {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(p))
		}
	}
	return b.String()
}

// quoteLexeme quotes w for the text form of a tsvector or tsquery. Words
// hold no quote or backslash, but the escaping keeps that an assumption
// about the tokenizer rather than a hole.
func quoteLexeme(w string) string {
	return "'" + strings.NewReplacer(`'`, `''`, `\`, `\\`).Replace(w) + "'"
}

// searchMatch turns a search query in canonical form
// (customer.NormalizeQuery) into a tsquery, in its text form, that keeps
// what the SQLite engine's FTS5 query keeps: every word that can match
// (customer.QueryWords) must match the start of a word of some column. As
// in FTS5, a query word that holds several words ("acme.com") is a phrase:
// its words in a row, within one column, the last one as a prefix. It
// returns "" when no word can match (nothing matches), as the SQLite
// engine's searchMatch does. ListCustomers and CountCustomers both use it.
func searchMatch(q string) string {
	var parts []string
	for _, w := range customer.QueryWords(q) {
		ws := words(w) // not empty: a letter or digit is a word
		phrase := make([]string, len(ws))
		for i, x := range ws {
			phrase[i] = quoteLexeme(x)
		}
		phrase[len(ws)-1] += ":*"
		parts = append(parts, "("+strings.Join(phrase, " <-> ")+")")
	}
	return strings.Join(parts, " & ")
}
