// Package pagetoken encodes and decodes the opaque page tokens of
// ListCustomers. A token records where the previous page ended; clients must
// treat it as an opaque string.
package pagetoken

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// version is the first byte of every token, so that the format can change
// without misreading tokens issued by an older server.
const version = 1

// ErrMalformed is returned by Decode for a token this package did not issue.
var ErrMalformed = errors.New("malformed page token")

// Token is the decoded content of a page token.
type Token struct {
	AfterID int64 // the last id of the previous page; always positive
}

// Encode returns the opaque string form of t.
func Encode(t Token) string {
	buf := make([]byte, 1, 1+binary.MaxVarintLen64)
	buf[0] = version
	buf = binary.AppendUvarint(buf, uint64(t.AfterID))
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Decode parses a token made by Encode. It returns ErrMalformed for anything
// else: bad base64, an unknown version, trailing bytes or a non-positive id.
func Decode(s string) (Token, error) {
	buf, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(buf) < 2 || buf[0] != version {
		return Token{}, ErrMalformed
	}
	id, n := binary.Uvarint(buf[1:])
	if n <= 0 || 1+n != len(buf) || id == 0 || id > 1<<63-1 {
		return Token{}, ErrMalformed
	}
	return Token{AfterID: int64(id)}, nil
}
