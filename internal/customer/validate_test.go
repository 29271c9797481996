package customer

import (
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

func fieldsOf(err error) []string {
	e, ok := err.(*Error)
	if !ok {
		return nil
	}
	var fs []string
	for _, v := range e.Violations {
		fs = append(fs, v.Field)
	}
	return fs
}

func TestNewNormalize(t *testing.T) {
	cases := []struct {
		name   string
		in     New
		fields string
	}{
		{"OK", New{Name: "Ada", Email: "ada@example.com"}, ""},
		{"OKTrimmed", New{Name: "  Ada\t", Email: " ada@example.com\n"}, ""},
		{"OKUnicodeName200", New{Name: strings.Repeat("é", 200), Email: "a@b.c"}, ""},
		{"EmailQuotedWithSpace", New{Name: "A", Email: `"ada lovelace"@example.com`}, "email"},
		{"OKMultilineAddress", New{Name: "A", Email: "a@b.c", Address: ptr("1 Road\nLondon")}, ""},
		{"OKEmptyPhone", New{Name: "A", Email: "a@b.c", Phone: ptr("")}, ""},
		{"Empty", New{}, "name email"},
		{"Name201", New{Name: strings.Repeat("é", 201), Email: "a@b.c"}, "name"},
		{"NameControl", New{Name: "A\x00", Email: "a@b.c"}, "name"},
		{"EmailNoAt", New{Name: "A", Email: "ada.example.com"}, "email"},
		{"EmailNoDomain", New{Name: "A", Email: "ada@"}, "email"},
		{"EmailDisplayName", New{Name: "A", Email: "Ada <ada@example.com>"}, "email"},
		{"EmailTwoAddresses", New{Name: "A", Email: "a@b.c, d@e.f"}, "email"},
		{"Email255", New{Name: "A", Email: strings.Repeat("a", 243) + "@example.com"}, "email"},
		{"Phone33", New{Name: "A", Email: "a@b.c", Phone: ptr(strings.Repeat("1", 33))}, "phone"},
		{"PhoneNewline", New{Name: "A", Email: "a@b.c", Phone: ptr("1\n2")}, "phone"},
		{"Address501", New{Name: "A", Email: "a@b.c", Address: ptr(strings.Repeat("a", 501))}, "address"},
		{"AddressNUL", New{Name: "A", Email: "a@b.c", Address: ptr("a\x00b")}, "address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.in
			err := n.Normalize("")
			if got := strings.Join(fieldsOf(err), " "); got != tc.fields {
				t.Fatalf("violations: got %q (%v), want %q", got, err, tc.fields)
			}
			if err != nil && ErrorCode(err) != Invalid {
				t.Fatalf("code %v, want Invalid", ErrorCode(err))
			}
			if err == nil && (n.Name != strings.TrimSpace(tc.in.Name) || n.Email != strings.TrimSpace(tc.in.Email)) {
				t.Fatalf("not trimmed: %+v", n)
			}
		})
	}
}

func TestUpdateNormalize(t *testing.T) {
	u := Update{ID: 1, Name: ptr("  Ada "), SetPhone: true}
	if err := u.Normalize("customer."); err != nil || *u.Name != "Ada" || !u.Changes() {
		t.Fatalf("got %v, %+v", err, u)
	}
	u = Update{Name: ptr(""), Email: ptr("x"), SetAddress: true, Address: ptr(strings.Repeat("a", 501))}
	got := strings.Join(fieldsOf(u.Normalize("customer.")), " ")
	if want := "customer.id customer.name customer.email customer.address"; got != want {
		t.Fatalf("violations: got %q, want %q", got, want)
	}
	if (Update{ID: 1}).Changes() {
		t.Fatal("an empty update reports changes")
	}
}
