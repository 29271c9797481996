// Package pagetoken encodes and decodes the opaque page tokens of
// ListCustomers. A token records where the previous page ended and a
// fingerprint of the request it belongs to, so that it cannot be reused with
// another search, filter or order. Clients must treat it as opaque.
package pagetoken

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"unicode/utf8"
)

// version is the first byte of every token, so that the format can change
// without misreading tokens issued by an older server.
const version = 2

// maxValueLen bounds the cursor value a token may carry (the longest sort
// value is an email of 254 characters, at most 4 bytes each).
const maxValueLen = 1024

// ErrMalformed is returned by Decode for a token this package did not issue.
var ErrMalformed = errors.New("malformed page token")

// Token is the decoded content of a page token.
type Token struct {
	Fingerprint uint64 // of the request the token belongs to; see Fingerprint
	Value       string // the sort value of the last customer of the page
	ID          int64  // the id of the last customer of the page; positive
}

// Fingerprint hashes the parts of a request that a token is bound to.
func Fingerprint(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	return h.Sum64()
}

// Encode returns the opaque string form of t:
// version, fingerprint, id, value length, value; base64url without padding.
func Encode(t Token) string {
	buf := make([]byte, 0, 1+8+2*binary.MaxVarintLen64+len(t.Value))
	buf = append(buf, version)
	buf = binary.BigEndian.AppendUint64(buf, t.Fingerprint)
	buf = binary.AppendUvarint(buf, uint64(t.ID))
	buf = binary.AppendUvarint(buf, uint64(len(t.Value)))
	buf = append(buf, t.Value...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Decode parses a token made by Encode. It returns ErrMalformed for anything
// else: bad base64, an unknown version, a truncated or overlong body, a
// non-positive id, or a value that is not UTF-8.
func Decode(s string) (Token, error) {
	if len(s) > 2*maxValueLen {
		return Token{}, ErrMalformed
	}
	buf, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(buf) < 1+8 || buf[0] != version {
		return Token{}, ErrMalformed
	}
	t := Token{Fingerprint: binary.BigEndian.Uint64(buf[1:9])}
	rest := buf[9:]
	id, n := binary.Uvarint(rest)
	if n <= 0 || id == 0 || id > 1<<63-1 {
		return Token{}, ErrMalformed
	}
	rest = rest[n:]
	size, n := binary.Uvarint(rest)
	if n <= 0 || size > maxValueLen || uint64(len(rest)-n) != size {
		return Token{}, ErrMalformed
	}
	t.ID = int64(id)
	t.Value = string(rest[n:])
	if !utf8.ValidString(t.Value) {
		return Token{}, ErrMalformed
	}
	return t, nil
}
