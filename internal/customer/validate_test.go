package customer

import "testing"

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
