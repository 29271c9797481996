package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"customerd/internal/attack"
	"customerd/internal/auth"
)

// TestRapidResetHoldsNoMemory runs the HTTP/2 rapid-reset attack (HEADERS
// then RST_STREAM, four connections, three seconds) against the real
// binary, in a process of its own as a real server is: a per-stream state
// that outlives its reset stream (as a stream's own read deadline did,
// 1.8 GB in 15 s) shows as resident memory far past what the server needs.
// The bound is a leak check, not a target: the soak (customerload -ops
// attacks) measures the figure.
func TestRapidResetHoldsNoMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a three-second attack")
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	key, err := auth.AddKey(keyFile, auth.Read)
	if err != nil {
		t.Fatal(err)
	}
	cmd, url, out := startBinary(t, buildBinary(t), filepath.Join(dir, "c.db"), "-auth-keys", keyFile)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		waitExit(t, cmd, out)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resets := attack.RapidReset(ctx, attack.Target{URL: url, Key: key}, 4)
	if resets.Count("reset") < 10_000 {
		t.Fatalf("the attack reset only %d streams (%v); it did not run", resets.Count("reset"), resets)
	}
	peak := peakRSS(t, cmd.Process.Pid)
	t.Logf("%d streams reset; server peak RSS %d MB", resets.Count("reset"), peak>>20)
	if peak > 200<<20 {
		t.Fatalf("server peak RSS %d MB after %d reset streams: reset streams hold memory", peak>>20, resets.Count("reset"))
	}
}

// peakRSS returns the most resident memory process pid has used (Linux).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
