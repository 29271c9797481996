package customer

import "testing"

// TestEtagIsStable pins the etag function: etags reach clients, so a change
// would make every etag a client holds stale.
func TestEtagIsStable(t *testing.T) {
	if got, want := Etag(1, 1), Etag(1, 1); got != want {
		t.Fatalf("Etag is not deterministic: %s, %s", got, want)
	}
	if Etag(1, 1) == Etag(1, 2) || Etag(1, 2) == Etag(2, 1) {
		t.Fatal("different versions share an etag")
	}
	// The value the README shows for customer 1 as created.
	if got, want := Etag(1, 1), "f4b5cb5bcc647005"; got != want {
		t.Fatalf("Etag(1, 1) = %q, want %q", got, want)
	}
}
