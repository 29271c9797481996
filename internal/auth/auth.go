// Package auth holds the API keys of customerd: it makes them, keeps only
// their hashes in a key file, and checks the bearer keys of requests.
//
// A key file has one key a line: "sha256:HEX SCOPE [NAME]", where HEX is
// the SHA-256 of the key, SCOPE is read, write or admin, and NAME, when
// present, is who holds the key, as the audit trail records it; blank lines
// and lines starting with # are ignored. Keys are 256 random bits, so a plain SHA-256
// is enough to keep the file useless to a thief; no key is ever stored or
// logged in plain text.
package auth

import (
	"bufio"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Scope is what a key may do.
type Scope int

// The scopes, each including the ones before it: Read allows the calls that
// read customers; Write also those that change them; Admin also the
// personal-data calls (the audit trail, export and erasure).
const (
	Read Scope = iota + 1
	Write
	Admin
)

func (s Scope) String() string {
	switch s {
	case Read:
		return "read"
	case Write:
		return "write"
	case Admin:
		return "admin"
	}
	return "none"
}

// Allows reports whether a key with scope s may make a call that needs
// scope need.
func (s Scope) Allows(need Scope) bool { return s >= need }

// ParseScope parses "read", "write" or "admin".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "read":
		return Read, nil
	case "write":
		return Write, nil
	case "admin":
		return Admin, nil
	}
	return 0, fmt.Errorf("scope must be read, write or admin, not %q", s)
}

// maxNameLen is the longest key name.
const maxNameLen = 64

// CheckName returns an error unless name can name a key: 1 to 64 letters,
// digits and the characters . _ - @, so that it fits on a key file line
// and in a log without quoting.
func CheckName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("a key name must be 1 to %d characters", maxNameLen)
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("._-@", c)) {
			return fmt.Errorf("a key name may hold only letters, digits and . _ - @, not %q", c)
		}
	}
	return nil
}

// keyPrefix marks customerd keys, so that they are easy to recognize (and to
// find if one leaks into a repository).
const keyPrefix = "cdk_"

// Errors of Check.
var (
	ErrNoKey    = errors.New("no API key: send Authorization: Bearer KEY")
	ErrWrongKey = errors.New("unknown API key")
)

// AddKey makes a new unnamed random key with scope (see AddNamedKey).
func AddKey(path string, scope Scope) (string, error) { return AddNamedKey(path, scope, "") }

// AddNamedKey makes a new random key with scope and name (none when
// empty), appends its hash, scope and name to the key file at path
// (creating it, readable by its owner only), and returns the key, which
// exists nowhere else: show it once.
func AddNamedKey(path string, scope Scope, name string) (string, error) {
	if scope != Read && scope != Write && scope != Admin {
		return "", fmt.Errorf("auth: bad scope %v", scope)
	}
	if name != "" {
		if err := CheckName(name); err != nil {
			return "", fmt.Errorf("auth: %w", err)
		}
		name = " " + name
	}
	key := keyPrefix + base64.RawURLEncoding.EncodeToString(randomBytes(32))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	if _, err := fmt.Fprintf(f, "sha256:%s %s%s\n", hashKey(key), scope, name); err != nil {
		f.Close()
		return "", fmt.Errorf("auth: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	return key, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return b
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Keys are the hashes and scopes of the keys that may call the API.
type Keys struct {
	entries []entry
}

type entry struct {
	hash  []byte // hex SHA-256
	scope Scope
	name  string // "" for an unnamed key
}

// Load reads a key file. It fails when the file cannot be read, when a line
// is malformed (naming the line), or when it holds no key.
func Load(path string) (*Keys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	defer f.Close()
	k := &Keys{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		hash, ok := strings.CutPrefix(fields[0], "sha256:")
		if len(fields) < 2 || len(fields) > 3 || !ok || len(hash) != 64 {
			return nil, fmt.Errorf("auth: %s:%d: want \"sha256:HEX read|write|admin [NAME]\"", path, line)
		}
		var name string
		if len(fields) == 3 {
			if name = fields[2]; CheckName(name) != nil {
				return nil, fmt.Errorf("auth: %s:%d: %w", path, line, CheckName(name))
			}
		}
		if _, err := hex.DecodeString(hash); err != nil {
			return nil, fmt.Errorf("auth: %s:%d: %w", path, line, err)
		}
		scope, err := ParseScope(fields[1])
		if err != nil {
			return nil, fmt.Errorf("auth: %s:%d: %w", path, line, err)
		}
		k.entries = append(k.entries, entry{hash: []byte(strings.ToLower(hash)), scope: scope, name: name})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if len(k.entries) == 0 {
		return nil, fmt.Errorf("auth: %s holds no key", path)
	}
	return k, nil
}

// Len returns how many keys there are.
func (k *Keys) Len() int { return len(k.entries) }

// Key is a key a request presented, as the server may name it.
type Key struct {
	// ID names the key in logs and per-key limits without revealing it:
	// "key-" and the first 12 hex digits of its hash, as in the key file.
	ID string
	// Name is who holds the key, as the audit trail records it: the name
	// the key file gives it, or ID for an unnamed key.
	Name  string
	Scope Scope
}

// Check returns the key in an Authorization header value ("Bearer KEY").
// It compares the key's hash with every stored hash in
// constant time, so timing tells nothing about which hashes exist. It
// returns ErrNoKey when the header holds no bearer key and ErrWrongKey when
// the key is unknown.
func (k *Keys) Check(authorization string) (Key, error) {
	scheme, key, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	key = strings.TrimSpace(key)
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return Key{}, ErrNoKey
	}
	hash := []byte(hashKey(key))
	var found *entry
	for i := range k.entries {
		if subtle.ConstantTimeCompare(hash, k.entries[i].hash) == 1 {
			found = &k.entries[i]
		}
	}
	if found == nil {
		return Key{}, ErrWrongKey
	}
	id := "key-" + string(hash[:12])
	return Key{ID: id, Name: cmp.Or(found.name, id), Scope: found.scope}, nil
}
