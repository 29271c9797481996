//go:build unix

package pgtest

import (
	"errors"
	"syscall"
)

// alive reports whether a process with this pid runs on this host: signal
// 0 checks without sending anything; EPERM means it runs as someone else.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
