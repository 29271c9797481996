package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	oldPercent, oldLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetGCPercent(oldPercent)
	defer debug.SetMemoryLimit(oldLimit)

	if percent, limit := tuneGC(func(string) string { return "" }); !percent || !limit {
		t.Fatalf("without GOGC and GOMEMLIMIT the server set percent %v, limit %v; want both", percent, limit)
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("GC percent %d, want %d", got, gcPercent)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != memoryLimit {
		t.Fatalf("memory limit %d, want %d", got, memoryLimit)
	}
	env := map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}
	if percent, limit := tuneGC(func(k string) string { return env[k] }); percent || limit {
		t.Fatalf("GOGC and GOMEMLIMIT set, but the server replaced percent %v, limit %v", percent, limit)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent %d after GOGC was set; want it left alone (100)", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Fatalf("memory limit %d after GOMEMLIMIT was set; want it left alone", got)
	}
}
