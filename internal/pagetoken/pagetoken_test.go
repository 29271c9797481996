package pagetoken

import (
	"strconv"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, id := range []int64{1, 127, 128, 1 << 40, 1<<63 - 1} {
		s := Encode(Token{AfterID: id})
		if strings.Contains(s, strconv.FormatInt(id, 10)) && id > 9 {
			t.Errorf("token %q shows id %d", s, id)
		}
		got, err := Decode(s)
		if err != nil || got.AfterID != id {
			t.Errorf("Decode(Encode(%d)) = %v, %v", id, got, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := Encode(Token{AfterID: 300})
	for _, s := range []string{
		"", "42", "!!", "AQ", // AQ is version 1 with no id
		"AgE",                   // version 2
		"AQA",                   // id 0
		valid + "AA",            // trailing bytes
		valid[:len(valid)-1],    // truncated varint
		"Af__________________8", // overflows int64
		valid + "=",
	} {
		if _, err := Decode(s); err != ErrMalformed {
			t.Errorf("Decode(%q): got %v, want ErrMalformed", s, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(Token{AfterID: 1}))
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Decode(s)
		if err != nil {
			return
		}
		if tok.AfterID <= 0 {
			t.Fatalf("Decode(%q) accepted id %d", s, tok.AfterID)
		}
		again, err := Decode(Encode(tok))
		if err != nil || again != tok {
			t.Fatalf("re-encoding %v: %v, %v", tok, again, err)
		}
	})
}
