package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAddLoadCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	readKey, err := AddKey(path, Read)
	if err != nil {
		t.Fatal(err)
	}
	writeKey, err := AddKey(path, Write)
	if err != nil {
		t.Fatal(err)
	}
	if readKey == writeKey || !strings.HasPrefix(readKey, "cdk_") || len(readKey) < 40 {
		t.Fatalf("keys %q %q", readKey, writeKey)
	}
	file, _ := os.ReadFile(path)
	if strings.Contains(string(file), readKey) || strings.Contains(string(file), writeKey[4:]) {
		t.Fatal("the key file holds a key in plain text")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	keys, err := Load(path)
	if err != nil || keys.Len() != 2 {
		t.Fatalf("Load: %v, %v", keys, err)
	}
	for header, want := range map[string]Scope{
		"Bearer " + readKey:  Read,
		"bearer " + writeKey: Write,
		"Bearer  " + readKey: Read,
	} {
		got, err := keys.Check(header)
		if err != nil || got.Scope != want {
			t.Errorf("Check(%.12q…) = %v, %v; want %v", header, got, err, want)
		}
		if wantID := "key-" + hashKey(strings.TrimSpace(header[len("bearer "):]))[:12]; got.ID != wantID || strings.Contains(header, got.ID[4:]) {
			t.Errorf("Check(%.12q…) ID %q, want %q (a prefix of the hash, not of the key)", header, got.ID, wantID)
		}
	}
	for header, want := range map[string]error{
		"":                        ErrNoKey,
		"Bearer":                  ErrNoKey,
		"Basic " + readKey:        ErrNoKey,
		readKey:                   ErrNoKey,
		"Bearer " + readKey + "x": ErrWrongKey,
		"Bearer cdk_not-a-key":    ErrWrongKey,
		"Bearer " + readKey[:20]:  ErrWrongKey,
	} {
		if _, err := keys.Check(header); err != want {
			t.Errorf("Check(%.20q…): %v, want %v", header, err, want)
		}
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty":     "# no keys\n\n",
		"scope":     "sha256:" + strings.Repeat("a", 64) + " owner\n",
		"hash":      "sha256:xyz read\n",
		"plain key": "cdk_abc read\n",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := Load(path); err == nil {
			t.Errorf("Load accepted a file with %s", name)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load accepted a missing file")
	}
}

func TestNamedKeysAndAdmin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	// A key file written before names existed keeps working.
	old, err := AddKey(path, Write)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := AddNamedKey(path, Admin, "dpo@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AddNamedKey(path, Read, "two words"); err == nil {
		t.Fatal("AddNamedKey took a name with a space")
	}
	keys, err := Load(path)
	if err != nil || keys.Len() != 2 {
		t.Fatalf("Load: %v, %v", keys, err)
	}
	k, err := keys.Check("Bearer " + admin)
	if err != nil || k.Name != "dpo@example.com" || k.Scope != Admin || !k.Scope.Allows(Write) || !k.Scope.Allows(Read) {
		t.Fatalf("admin key: %+v, %v", k, err)
	}
	k, err = keys.Check("Bearer " + old)
	if err != nil || k.Name != k.ID || k.Scope.Allows(Admin) || !k.Scope.Allows(Write) {
		t.Fatalf("unnamed write key: %+v, %v (want its id as its name)", k, err)
	}
	if s, err := ParseScope("admin"); err != nil || s != Admin || s.String() != "admin" {
		t.Fatalf("ParseScope(admin) = %v, %v", s, err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("sha256:"+strings.Repeat("a", 64)+" read bad\x01name\n"), 0o600)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Fatalf("Load of a bad name: %v", err)
	}
}
