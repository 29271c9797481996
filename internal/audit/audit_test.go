package audit

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"customerd/internal/customer"
)

func TestEncodeIsJSON(t *testing.T) {
	at := time.Date(2026, 12, 2, 11, 0, 0, 123e6, time.UTC)
	b := Encode(
		customer.AuditEvent{Time: at, Principal: `a"b\c` + "\x01", Procedure: "ListCustomers", Code: "ok", CustomerIDs: []int64{1, 2, 3}},
		customer.AuditEvent{Time: at, Principal: "bad\xffutf8", Procedure: "CreateCustomer", Code: "already_exists"},
	)
	var got [][]any
	if err := json.Unmarshal(b.JSON, &got); err != nil {
		t.Fatalf("%s: %v", b.JSON, err)
	}
	if len(got) != 2 || got[0][0] != "2026-12-02T11:00:00.123Z" || got[0][1] != `a"b\c`+"\x01" || got[0][5] != "[1,2,3]" || got[1][5] != "[]" {
		t.Fatalf("decoded %v", got)
	}
	if b.Len() != 2 || len(b.IDs) != 3 || b.Counts[0] != 3 || b.Counts[1] != 0 {
		t.Fatalf("batch ids %v counts %v", b.IDs, b.Counts)
	}
}

// TestRecorderKeepsRefusedEvents makes the store refuse a batch, while
// another event is recorded: the refused events are stored with the next
// batch, in front of the one recorded meanwhile, and Close stores the
// rest.
func TestRecorderKeepsRefusedEvents(t *testing.T) {
	var mu sync.Mutex
	var stored []string
	fail := true
	var r *Recorder
	r = NewRecorder(func(ctx context.Context, b *Batch) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			fail = false
			r.Record(customer.AuditEvent{Procedure: "during"}) // the recorder is not locked while it stores
			return errors.New("busy")
		}
		var evs [][]any
		if err := json.Unmarshal(b.JSON, &evs); err != nil {
			t.Errorf("%s: %v", b.JSON, err)
		}
		for _, ev := range evs {
			stored = append(stored, ev[2].(string))
		}
		return nil
	}, slog.New(slog.DiscardHandler))
	r.Record(customer.AuditEvent{Procedure: "first"})
	r.Flush(context.Background()) // refused (or the recorder's own flush was)
	r.Record(customer.AuditEvent{Procedure: "second"})
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Record(customer.AuditEvent{Procedure: "after close"})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(stored, []string{"first", "during", "second"}) {
		t.Fatalf("stored %v", stored)
	}
}
