// Package consistency carries read-your-writes tokens between the API and
// the store. A token is a PostgreSQL WAL position (an LSN, written as
// PostgreSQL writes it: "16/B374D848"): a write's response carries the
// position of its commit, and a read that sends it back is served only by
// a database that has replayed at least that far.
package consistency

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// Header is the HTTP header that carries a token: in a write's response,
// and in a later read's request.
const Header = "Customerd-Consistency"

// LSN is a WAL position; 0 means none.
type LSN uint64

// Primary is a token that only the primary satisfies: a write whose
// commit position could not be read gets it, so that a read sending it
// back is served by the primary.
const Primary LSN = 1<<64 - 1

// Parse reads a token as String writes it. It fails for anything else.
func Parse(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || len(hi) == 0 || len(hi) > 8 || len(lo) == 0 || len(lo) > 8 {
		return 0, fmt.Errorf("consistency token %q is not a WAL position such as 0/16B3748", clip(s))
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("consistency token %q is not a WAL position such as 0/16B3748", clip(s))
	}
	return LSN(h<<32 | l), nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// String writes l as PostgreSQL writes an LSN.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// Recorder keeps the highest commit position recorded during one call.
type Recorder struct{ lsn atomic.Uint64 }

// Token returns the highest position recorded, 0 when none was.
func (r *Recorder) Token() LSN { return LSN(r.lsn.Load()) }

type recorderKey struct{}
type atLeastKey struct{}

// WithRecorder returns a context whose writes record their commit
// position in the returned Recorder.
func WithRecorder(ctx context.Context) (context.Context, *Recorder) {
	r := new(Recorder)
	return context.WithValue(ctx, recorderKey{}, r), r
}

// Record records that a write of ctx's call committed at or before lsn;
// it does nothing when ctx has no Recorder.
func Record(ctx context.Context, lsn LSN) {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	if r == nil {
		return
	}
	for {
		cur := r.lsn.Load()
		if uint64(lsn) <= cur || r.lsn.CompareAndSwap(cur, uint64(lsn)) {
			return
		}
	}
}

// Recording reports whether ctx has a Recorder, so that a store can skip
// reading the commit position when nobody wants it.
func Recording(ctx context.Context) bool { return ctx.Value(recorderKey{}) != nil }

// WithAtLeast returns a context whose reads must see position lsn.
func WithAtLeast(ctx context.Context, lsn LSN) context.Context {
	return context.WithValue(ctx, atLeastKey{}, lsn)
}

// AtLeast returns the position ctx's reads must see, 0 when any will do.
func AtLeast(ctx context.Context) LSN {
	lsn, _ := ctx.Value(atLeastKey{}).(LSN)
	return lsn
}
