// Package jsonstr writes strings as JSON, with the escapes protojson uses,
// for the hand-written encoders (responses, audit events).
package jsonstr

import (
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// Append appends s to out as a JSON string with protojson's escapes: \" \\
// \b \f \n \r \t, other control characters as \u00xx in lower case, and
// everything else as it is. It fails on invalid UTF-8, as protojson does.
func Append(out []byte, s string) ([]byte, bool) {
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return out, false
			}
			i += n
			continue
		}
		if b >= ' ' && b != '"' && b != '\\' {
			i++
			continue
		}
		out = append(out, s[start:i]...)
		switch b {
		case '"', '\\':
			out = append(out, '\\', b)
		case '\b':
			out = append(out, '\\', 'b')
		case '\f':
			out = append(out, '\\', 'f')
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, `\u`...)
			out = append(out, "0000"[1+(bits.Len32(uint32(b))-1)/4:]...)
			out = strconv.AppendUint(out, uint64(b), 16)
		}
		i++
		start = i
	}
	return append(append(out, s[start:]...), '"'), true
}
