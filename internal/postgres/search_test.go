package postgres

import (
	"slices"
	"testing"
)

func TestWords(t *testing.T) {
	for in, want := range map[string][]string{
		"john.doe@example.com":         {"john", "doe", "example", "com"},
		"Ádá Łódź ÆØß straße":          {"ada", "łodz", "æøß", "straße"},
		"e\u0301te cafe\u0301s":        {"ete", "cafes"},
		"Ωμέγα ΣΟΦΟΣ ς İstanbul ǅemal": {"ωμέγα", "σοφοσ", "σ", "istanbul", "ǆemal"},
		"x²y ½ +44 (20) 7946-0000":     {"x²y", "½", "44", "20", "7946", "0000"},
		"a_b a'b":                      {"a", "b", "a", "b"},
		"":                             nil,
	} {
		if got := words(in); !slices.Equal(got, want) {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSearchQuery(t *testing.T) {
	for in, want := range map[string]string{
		"ada":           `('ada':*)`,
		"Ada LOND":      `('ada':*) & ('lond':*)`,
		"acme.com":      `('acme' <-> 'com':*)`,
		"- ada":         `('ada':*)`,
		"'x' \\ ada:*&": `('x':*) & ('ada':*)`,
	} {
		got := searchMatch(in)
		ok := got != ""
		if !ok || got != want {
			t.Errorf("searchMatch(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if q := searchMatch("- @@ ½"); q != "" {
		t.Errorf("a query without letters or digits gave %q", q)
	}
}

func TestSearchDocument(t *testing.T) {
	name, email := "Ada Ada", "ada@x.org"
	got := searchDocument(searchColumns(name, email, nil, nil))
	if want := `'ada':1,2,1001 'org':1003 'x':1002`; got != want {
		t.Fatalf("searchDocument = %q, want %q", got, want)
	}
}
