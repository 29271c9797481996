package customer

import "strings"

// The field rules of the API (lengths, formats, required fields) live in
// proto/customer/v1/customer.proto as buf.validate annotations, enforced on
// every request before it reaches a Store, so that clients can run the very
// same rules. The database repeats the length limits as CHECK constraints.
// What remains here is the normalization the server applies to valid input.

// space is the white space that the API trims: the characters of \s in the
// RE2 patterns of the proto, so that trimming and validation agree.
const space = " \t\n\f\r"

// Trim removes surrounding white space from the name and email of n.
func (n *New) Trim() {
	n.Name = strings.Trim(n.Name, space)
	n.Email = strings.Trim(n.Email, space)
}

// Trim removes surrounding white space from the new name and email of u, if
// it sets them.
func (u *Update) Trim() {
	if u.Name != nil {
		name := strings.Trim(*u.Name, space)
		u.Name = &name
	}
	if u.Email != nil {
		email := strings.Trim(*u.Email, space)
		u.Email = &email
	}
}
