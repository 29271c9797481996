package jsonstr

import (
	"encoding/json"
	"testing"
)

// TestAppend checks the escapes against encoding/json's reading of them and
// that invalid UTF-8 is refused.
func TestAppend(t *testing.T) {
	for _, s := range []string{"", "Ada", `a"b\c`, "tab\there\nnew\rline\b\f", "\x00\x01\x1f\x7f", "é中😀\u2028"} {
		out, ok := Append([]byte("x"), s)
		var back string
		if !ok || out[0] != 'x' || json.Unmarshal(out[1:], &back) != nil || back != s {
			t.Errorf("%q: wrote %s (ok %v), read back %q", s, out, ok, back)
		}
	}
	if out, _ := Append(nil, "\x01"); string(out) != `"\u0001"` {
		t.Errorf("control character written as %s, want protojson's \\u0001", out)
	}
	if _, ok := Append(nil, "bad\xff"); ok {
		t.Error("invalid UTF-8 was accepted")
	}
}
