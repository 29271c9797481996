package customer

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

func TestTrim(t *testing.T) {
	n := New{Name: " \tAda Lovelace\r\n", Email: "  ada@example.com\f", Phone: ptr(" 1 "), Address: ptr(" London\n")}
	n.Trim()
	if n.Name != "Ada Lovelace" || n.Email != "ada@example.com" || *n.Phone != " 1 " || *n.Address != " London\n" {
		t.Fatalf("trimmed %+v: only name and email are trimmed", n)
	}
	// Only the white space of the proto's patterns: a no-break space stays.
	n = New{Name: "\u00a0Ada\u00a0"}
	n.Trim()
	if n.Name != "\u00a0Ada\u00a0" {
		t.Fatalf("trimmed %q", n.Name)
	}
	u := Update{ID: 1, Name: ptr(" Ada "), SetPhone: true}
	u.Trim()
	if *u.Name != "Ada" || u.Email != nil || !u.Changes() {
		t.Fatalf("update trimmed to %+v", u)
	}
	if (Update{ID: 1}).Changes() {
		t.Fatal("an empty update reports changes")
	}
}

func TestParseOrder(t *testing.T) {
	for in, want := range map[string]Order{
		"": {}, "id": {}, "id desc": {Desc: true}, "name": {Field: ByName}, "email desc": {Field: ByEmail, Desc: true},
		"create_time": {Field: ByCreateTime}, "update_time desc": {Field: ByUpdateTime, Desc: true},
	} {
		got, err := ParseOrder(in, "order_by")
		if err != nil || got != want {
			t.Errorf("ParseOrder(%q) = %v, %v; want %v", in, got, err, want)
		}
		if in != "" && got.String() != in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), in)
		}
	}
	for _, in := range []string{"phone", "name desc desc", "NAME", "name  desc", " id"} {
		if _, err := ParseOrder(in, "order_by"); ErrorCode(err) != Invalid {
			t.Errorf("ParseOrder(%q): got %v, want Invalid", in, err)
		}
	}
}

func TestNormalizeQuery(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "",
		"  ada \t lond\n":           "ada lond",
		"ada\x00lond":               "ada lond", // control characters separate words
		"\x00\x01\x7f\u0085":        "",
		"user user User USER":       "user",
		strings.Repeat("user ", 40): "user",
		"Émile émile ÉMILE":         "Émile émile ÉMILE", // only ASCII letters fold
		"- ! -":                     "- !",
		"a b c d e f g h":           "a b c d e f g h",
		"a b c d e f g h - ! ? .":   "a b c d e f g h - ! ? .", // words that cannot match do not count
	} {
		got, err := NormalizeQuery(in, "query")
		if err != nil || got != want {
			t.Errorf("NormalizeQuery(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"a b c d e f g h i":        "invalid request: query: must have at most 8 different words",
		strings.Repeat("a", 201):   "invalid request: query: must be at most 200 characters",
		strings.Repeat("a ", 1000): "invalid request: query: must be at most 200 characters",
		"ada \xff":                 "invalid request: query: must be valid UTF-8",
	} {
		_, err := NormalizeQuery(in, "query")
		if e, ok := errors.AsType[*Error](err); !ok || e.Code != Invalid || e.Message != msg || e.Violations[0].Field != "query" {
			t.Errorf("NormalizeQuery(%.20q...): got %v, want %q", in, err, msg)
		}
	}
	if got := QueryWords("ada - lond ½ 42"); !slices.Equal(got, []string{"ada", "lond", "42"}) {
		t.Errorf("QueryWords: %q", got)
	}
}
