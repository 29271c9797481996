//go:build unix

package sqlite

import "syscall"

// writable reports whether this process may write to path (for a
// directory: create files in it), as the kernel decides: permission bits,
// the user (root may write anything), a read-only file system.
func writable(path string) bool {
	const wOK = 2 // W_OK of access(2)
	return syscall.Access(path, wOK) == nil
}
