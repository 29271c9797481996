//go:build !unix

package sqlite

// writable reports true: on this system, SQLite's own error on opening the
// database tells that it cannot write.
func writable(string) bool { return true }
