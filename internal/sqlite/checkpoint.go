package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// WAL maintenance. SQLite copies the write-ahead log back into the database
// (a checkpoint) by itself after a commit that leaves writerCheckpointFrames
// or more in the log, on the writer's goroutine, stalling the writes queued
// behind it. A checkpointer goroutine on a connection of its own runs
// passive checkpoints in between, which block neither the writer nor
// readers, so that most pages are copied by the time the writer's own
// checkpoint comes. That one is kept: the log can only start over at a
// write transaction that begins with everything copied, which under a
// steady stream of writes is rarely the case for a checkpointer running
// beside it (the log then grew to 100 MB in a test), but always for the
// writer right after its own. journal_size_limit truncates a log file that
// did grow.
//
// How often matters under load: each checkpoint copies every page changed
// since the last one once, so checkpoints far apart copy a page changed by
// many commits (an index's last page, a busy table page) once instead of
// many times; the copying competes with the writer for the CPU and the
// disk. Measured with 64 writers updating random customers of 100,000 on
// two cores: passive checkpoints every 20 ms and the writer's at 1,000
// frames, 6,200-6,400 updates/s; every 250 ms and at 10,000 frames, 7,200;
// none at all, 7,900. checkpointInterval and writerCheckpointFrames are the
// middle of that: the log stays under 32 MiB, the writer's own checkpoint
// finds most of it copied.
//
// If the log passes walTruncateFrames anyway, and every frame is already
// copied (so no reader still needs an old snapshot: a long read such as a
// backup would make the wait long), the checkpointer runs a TRUNCATE
// checkpoint, which waits for the readers still using the log, holding new
// writes back meanwhile, and empties the file. Its connection's busy timeout
// is short (truncateBusyMillis), so that wait, and the stall of writes it
// causes, stays short; after a TRUNCATE that could not finish, the next try
// waits truncateBackoff.
const (
	walPragmas             = "&_pragma=journal_size_limit(67108864)" // 64 MiB
	writerCheckpointFrames = 8192                                    // 32 MiB of 4 KiB pages
	checkpointInterval     = 250 * time.Millisecond
	walTruncateFrames      = 12288 // 48 MiB
	truncateBusyMillis     = 50
	truncateBackoff        = time.Second
)

// writerCache sizes the write connection's page cache: 16 MiB instead of
// SQLite's 2 MiB. It fills up under any steady load and stays full, outside
// Go's heap; 32 MiB cost 16 MB more resident memory for no fewer CPU µs per
// write (creates and updates on 1,000,000 customers, wrk).
const writerCache = "&_pragma=cache_size(-16384)"

// writerTemp keeps the write connection's temporary files in memory. Each
// write in a batch runs under a savepoint, whose statement journal holds the
// pages that write changed until it is released; on disk SQLite spilled it
// to a new temporary file past 64 KiB, at a file open, writes and a close per
// batch. In memory it is at most one write's pages. Migrations open their
// own connection without it, and vacuumOnce turns it off for its VACUUM.
const writerTemp = "&_pragma=temp_store(2)"

// checkpointer runs passive checkpoints every interval on conn until stop
// is closed, then a final TRUNCATE checkpoint (after the writer has drained)
// that leaves an empty WAL behind.
type checkpointer struct {
	// wantTruncate asks for a TRUNCATE checkpoint at the next tick, however
	// long the WAL (an erasure: see truncateSoon).
	wantTruncate atomic.Bool
	conn         *sql.DB
	interval     time.Duration
	stop         chan struct{}
	done         chan struct{}
	log          *slog.Logger
}

func startCheckpointer(conn *sql.DB, interval time.Duration, log *slog.Logger) *checkpointer {
	c := &checkpointer{conn: conn, interval: interval, stop: make(chan struct{}), done: make(chan struct{}), log: log}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	ticker := time.NewTicker(c.interval)
	defer ticker.Stop()
	var nextTruncate time.Time
	for {
		select {
		case <-c.stop:
			return
		case now := <-ticker.C:
			frames, done, err := c.checkpoint(context.Background(), "PASSIVE")
			if err == nil && c.wantTruncate.Load() {
				var busy bool
				if busy, err = c.truncate(context.Background()); err == nil && !busy {
					c.wantTruncate.Store(false)
				}
			} else if err == nil && frames > walTruncateFrames && done == frames && now.After(nextTruncate) {
				var busy bool
				busy, err = c.truncate(context.Background())
				if busy {
					nextTruncate = now.Add(truncateBackoff)
				}
			}
			if err != nil {
				c.log.Warn("WAL checkpoint failed", "err", err)
			}
		}
	}
}

// truncate runs a TRUNCATE checkpoint that gives up after a short wait for
// readers, and reports whether it had to give up.
func (c *checkpointer) truncate(ctx context.Context) (busy bool, err error) {
	conn, err := c.conn.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout(%d)", truncateBusyMillis)); err != nil {
		return false, err
	}
	// Restored even when ctx is done: the connection goes back to the pool.
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA busy_timeout(10000)")
	var b, frames, done int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&b, &frames, &done); err != nil {
		return false, err
	}
	return b != 0, nil
}

// truncateSoon empties the WAL with a TRUNCATE checkpoint, retrying every
// truncateRetry for up to wait (or until ctx is done) while readers keep it
// from finishing, and after that leaves it to the checkpointer's next
// ticks. It reports whether the WAL is empty now. It polls because SQLite
// tells no one when the last reader of an old snapshot has gone.
func (c *checkpointer) truncateSoon(ctx context.Context, wait time.Duration) bool {
	c.wantTruncate.Store(true)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	retry := time.NewTicker(truncateRetry)
	defer retry.Stop()
	for {
		busy, err := c.truncate(ctx)
		if err == nil && !busy {
			return true
		}
		select {
		case <-retry.C:
			continue
		case <-deadline.C:
		case <-ctx.Done():
		}
		if err != nil && ctx.Err() == nil {
			c.log.Warn("WAL checkpoint after an erasure failed; the checkpointer retries it", "err", err)
		}
		return false
	}
}

// truncateRetry is how often truncateSoon tries again.
const truncateRetry = 20 * time.Millisecond

// checkpoint runs one checkpoint of the given mode and returns the WAL's size
// in frames and how many of them are now in the database.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) (walFrames, checkpointed int, err error) {
	var busy int
	err = c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &walFrames, &checkpointed)
	return walFrames, checkpointed, err
}

// close stops the checkpointer, runs a final TRUNCATE checkpoint, and closes
// its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _, err := c.checkpoint(ctx, "TRUNCATE")
	if cerr := c.conn.Close(); err == nil {
		err = cerr
	}
	return err
}
