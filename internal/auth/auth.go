// Package auth holds the API keys of customerd: it makes them, keeps only
// their hashes in a key file, and checks the bearer keys of requests.
//
// A key file has one key a line: "sha256:HEX SCOPE", where HEX is the
// SHA-256 of the key and SCOPE is read or write; blank lines and lines
// starting with # are ignored. Keys are 256 random bits, so a plain SHA-256
// is enough to keep the file useless to a thief; no key is ever stored or
// logged in plain text.
package auth

import (
	"bufio"
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

// The scopes: Read allows GetCustomer and ListCustomers; Write allows every
// RPC.
const (
	Read Scope = iota + 1
	Write
)

func (s Scope) String() string {
	switch s {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return "none"
}

// ParseScope parses "read" or "write".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "read":
		return Read, nil
	case "write":
		return Write, nil
	}
	return 0, fmt.Errorf("scope must be read or write, not %q", s)
}

// keyPrefix marks customerd keys, so that they are easy to recognize (and to
// find if one leaks into a repository).
const keyPrefix = "cdk_"

// Errors of Check.
var (
	ErrNoKey    = errors.New("no API key: send Authorization: Bearer KEY")
	ErrWrongKey = errors.New("unknown API key")
)

// AddKey makes a new random key with scope, appends its hash and scope to
// the key file at path (creating it, readable by its owner only), and
// returns the key, which exists nowhere else: show it once.
func AddKey(path string, scope Scope) (string, error) {
	if scope != Read && scope != Write {
		return "", fmt.Errorf("auth: bad scope %v", scope)
	}
	key := keyPrefix + base64.RawURLEncoding.EncodeToString(randomBytes(32))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	if _, err := fmt.Fprintf(f, "sha256:%s %s\n", hashKey(key), scope); err != nil {
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
		if len(fields) != 2 || !ok || len(hash) != 64 {
			return nil, fmt.Errorf("auth: %s:%d: want \"sha256:HEX read|write\"", path, line)
		}
		if _, err := hex.DecodeString(hash); err != nil {
			return nil, fmt.Errorf("auth: %s:%d: %w", path, line, err)
		}
		scope, err := ParseScope(fields[1])
		if err != nil {
			return nil, fmt.Errorf("auth: %s:%d: %w", path, line, err)
		}
		k.entries = append(k.entries, entry{hash: []byte(strings.ToLower(hash)), scope: scope})
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
	ID    string
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
	var found Scope
	for _, e := range k.entries {
		if subtle.ConstantTimeCompare(hash, e.hash) == 1 {
			found = e.scope
		}
	}
	if found == 0 {
		return Key{}, ErrWrongKey
	}
	return Key{ID: "key-" + string(hash[:12]), Scope: found}, nil
}
