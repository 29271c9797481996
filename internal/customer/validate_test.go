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
	// AIP-132 syntax: spaces anywhere between words, and the id tie-break
	// spelled out in the direction the server breaks ties.
	for in, want := range map[string]Order{
		" ": {}, " name": {Field: ByName}, "name  desc": {Field: ByName, Desc: true}, "\tname desc ": {Field: ByName, Desc: true},
		"name,id": {Field: ByName}, "name desc, id desc": {Field: ByName, Desc: true}, " email , id ": {Field: ByEmail},
		"id, id": {}, "create_time desc,id desc": {Field: ByCreateTime, Desc: true},
	} {
		if got, err := ParseOrder(in, "order_by"); err != nil || got != want {
			t.Errorf("ParseOrder(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, wantMsg := range map[string]string{
		"phone":                  `cannot sort by "phone"`,
		"NAME":                   `cannot sort by "NAME"`,
		"name desc desc":         `only "desc" may follow`,
		"name descending":        `only "desc" may follow`,
		"name asc":               `only "desc" may follow`,
		"name desc, id":          `write "name desc, id desc"`,
		"name, id desc":          `write "name, id"`,
		"name, email":            `"email" cannot follow "name"`,
		"id, name":               `"name" cannot follow "id"`,
		"name,":                  "empty item",
		",name":                  "empty item",
		"; DROP TABLE customers": "cannot sort by",
	} {
		_, err := ParseOrder(in, "order_by")
		e, ok := errors.AsType[*Error](err)
		if !ok || e.Code != Invalid || !strings.Contains(e.Message, wantMsg) || len(e.Violations) != 1 || e.Violations[0].Field != "order_by" {
			t.Errorf("ParseOrder(%q): got %v, want Invalid on order_by saying %q", in, err, wantMsg)
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
