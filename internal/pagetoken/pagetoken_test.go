package pagetoken

import (
	"strconv"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, tok := range []Token{
		{ID: 1},
		{Fingerprint: 1<<64 - 1, ID: 1<<63 - 1, Value: "2026-11-25T12:00:00.000Z"},
		{Fingerprint: 42, ID: 300, Value: "Zoë O'Brien"},
		{ID: 7, Value: strings.Repeat("é", 254)},
	} {
		s := Encode(tok)
		if strings.Contains(s, strconv.FormatInt(tok.ID, 10)) && tok.ID > 9 {
			t.Errorf("token %q shows id %d", s, tok.ID)
		}
		got, err := Decode(s)
		if err != nil || got != tok {
			t.Errorf("Decode(Encode(%v)) = %v, %v", tok, got, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := Encode(Token{Fingerprint: 9, ID: 300, Value: "ada"})
	for _, s := range []string{
		"", "42", "!!", "AQ",
		Encode(Token{ID: 0}),  // id 0
		Encode(Token{ID: -5}), // negative id
		valid + "AA",          // trailing bytes
		valid[:len(valid)-2],  // truncated value
		valid + "=",           // padding
		"AQI",                 // version 1
		Encode(Token{ID: 1, Value: "\xff"}),
		strings.Repeat("A", 5000),
	} {
		if _, err := Decode(s); err != ErrMalformed {
			t.Errorf("Decode(%q): got %v, want ErrMalformed", s, err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	if Fingerprint("ab", "c") == Fingerprint("a", "bc") {
		t.Error("fingerprint ignores part boundaries")
	}
	a, b := Fingerprint("name", "ada"), Fingerprint("name", "ada")
	if a != b {
		t.Error("fingerprint is not deterministic")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(Token{Fingerprint: 3, ID: 1, Value: "x"}))
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Decode(s)
		if err != nil {
			return
		}
		if tok.ID <= 0 {
			t.Fatalf("Decode(%q) accepted id %d", s, tok.ID)
		}
		again, err := Decode(Encode(tok))
		if err != nil || again != tok {
			t.Fatalf("re-encoding %v: %v, %v", tok, again, err)
		}
	})
}
