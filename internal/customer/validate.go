package customer

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on field lengths, counted in characters (Unicode code points).
const (
	MaxNameLen    = 200
	MaxEmailLen   = 254
	MaxPhoneLen   = 32
	MaxAddressLen = 500
)

// violations collects field violations; its zero value is ready to use.
type violations []Violation

func (v *violations) add(field, format string, args ...any) {
	*v = append(*v, Violation{Field: field, Description: fmt.Sprintf(format, args...)})
}

func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	msg := v[0].Field + ": " + v[0].Description
	if len(v) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(v)-1)
	}
	return &Error{Code: Invalid, Message: "invalid request: " + msg, Violations: v}
}

// Normalize trims the name and email of n and checks every field against the
// rules of the API. Field paths in violations start with prefix (such as
// "customer."). It returns an *Error with code Invalid that lists every
// violation, or nil.
func (n *New) Normalize(prefix string) error {
	var v violations
	n.Name = strings.TrimSpace(n.Name)
	n.Email = strings.TrimSpace(n.Email)
	checkName(&v, prefix+"name", n.Name)
	checkEmail(&v, prefix+"email", n.Email)
	checkOptional(&v, prefix+"phone", n.Phone, MaxPhoneLen, false)
	checkOptional(&v, prefix+"address", n.Address, MaxAddressLen, true)
	return v.err()
}

// Normalize trims the new name and email of u, if any, and checks every field
// that u changes, as New.Normalize does. It also requires a positive ID.
func (u *Update) Normalize(prefix string) error {
	var v violations
	if u.ID <= 0 {
		v.add(prefix+"id", "must be a positive customer id")
	}
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		u.Name = &name
		checkName(&v, prefix+"name", name)
	}
	if u.Email != nil {
		email := strings.TrimSpace(*u.Email)
		u.Email = &email
		checkEmail(&v, prefix+"email", email)
	}
	if u.SetPhone {
		checkOptional(&v, prefix+"phone", u.Phone, MaxPhoneLen, false)
	}
	if u.SetAddress {
		checkOptional(&v, prefix+"address", u.Address, MaxAddressLen, true)
	}
	return v.err()
}

func checkName(v *violations, field, name string) {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		v.add(field, "is required")
	case n > MaxNameLen:
		v.add(field, "must be at most %d characters, not %d", MaxNameLen, n)
	case hasControl(name, false):
		v.add(field, "must not contain control characters")
	}
}

func checkEmail(v *violations, field, email string) {
	switch n := utf8.RuneCountInString(email); {
	case n == 0:
		v.add(field, "is required")
	case n > MaxEmailLen:
		v.add(field, "must be at most %d characters, not %d", MaxEmailLen, n)
	case !validEmail(email):
		v.add(field, "must be an email address such as ada@example.com")
	}
}

// validEmail accepts a bare address (local@domain, no display name or angle
// brackets) that net/mail can parse as RFC 5322.
func validEmail(s string) bool {
	if hasControl(s, false) || strings.ContainsAny(s, " <>") {
		return false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

func checkOptional(v *violations, field string, s *string, max int, multiline bool) {
	if s == nil {
		return
	}
	if n := utf8.RuneCountInString(*s); n > max {
		v.add(field, "must be at most %d characters, not %d", max, n)
	} else if hasControl(*s, multiline) {
		v.add(field, "must not contain control characters")
	}
}

// hasControl reports whether s holds a control character (NUL included);
// multiline allows line breaks and tabs.
func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
