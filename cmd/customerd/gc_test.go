package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	if tuneGC(func(string) string { return "" }) != true {
		t.Fatal("without GOGC the server did not set its own target")
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("GC percent %d, want %d", got, gcPercent)
	}
	if tuneGC(func(k string) string {
		if k == "GOGC" {
			return "50"
		}
		return ""
	}) {
		t.Fatal("GOGC set, but the server replaced it")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent %d after GOGC was set; want it left alone (100)", got)
	}
}
