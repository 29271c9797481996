package rpc

import (
	"context"
	"slices"
	"sync"
	"time"

	customerv1 "customerd/gen/customer/v1"
	"customerd/internal/broadcast"
	"customerd/internal/customer"
)

// fanoutKeep is how many recent changes the fanout keeps in memory: a
// watcher that falls further behind reads its changes from the database
// until it catches up.
const fanoutKeep = 4096

// event is a change as watchers send it. The message is shared by every
// watcher and never modified: marshaling it concurrently is safe.
type event struct {
	seq int64
	msg *customerv1.ChangeEvent
}

// fanout reads the change feed once for all watchers. While anyone
// watches, one goroutine waits for commits, reads the new changes, turns
// them into messages once and appends them to a buffer of recent events;
// watchers take their events from the buffer. Without it each watcher would
// query the database and build the same messages after every commit.
type fanout struct {
	feed customer.ChangeFeed
	keep int // how many events the buffer keeps

	mu       sync.Mutex
	events   []event          // seq ascending: every change with from < seq <= last
	from     int64            // the seq the buffer starts after
	last     int64            // the newest seq read
	err      error            // why the reader stopped, until it restarts
	grown    broadcast.Signal // notified when events grow or err is set
	watchers int              // watchers waiting or sending
	running  bool             // the reader goroutine runs
}

func newFanout(feed customer.ChangeFeed, keep int) *fanout {
	return &fanout{feed: feed, keep: keep}
}

// join registers a watcher that has seen every change up to seq after; call
// the returned function when it leaves.
func (f *fanout) join(after int64) (leave func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watchers++
	if !f.running {
		// Start a fresh buffer here; watchers behind it read the database.
		f.running, f.err = true, nil
		// A new array: watchers may still hold slices of the old one.
		f.events, f.from, f.last = nil, after, after
		go f.read()
	}
	return func() {
		f.mu.Lock()
		f.watchers--
		f.mu.Unlock()
	}
}

// next returns up to max events after seq after, waiting until there is at
// least one, the reader fails or ctx ends; or none after a second without
// a change, so that the watcher can look whether the server is draining.
func (f *fanout) next(ctx context.Context, after int64, max int) ([]event, error) {
	var timer *time.Timer
	for {
		f.mu.Lock()
		if from := f.from; after < from {
			f.mu.Unlock()
			changes, err := f.feed.ListChanges(ctx, after, max)
			if err != nil || len(changes) > 0 {
				return toEvents(changes), err
			}
			after = from // nothing is left before the buffer
			continue
		}
		if err := f.err; err != nil {
			f.mu.Unlock()
			return nil, err
		}
		// Events are sorted: find the first after seq after.
		i := len(f.events)
		for i > 0 && f.events[i-1].seq > after {
			i--
		}
		if i < len(f.events) {
			out := f.events[i:min(len(f.events), i+max)]
			f.mu.Unlock()
			return out, nil
		}
		grown := f.grown.Wait() // under f.mu, so no growth is missed
		f.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(time.Second)
			defer timer.Stop()
		}
		select {
		case <-grown:
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// read appends new changes to the buffer until nobody watches or the feed
// fails.
func (f *fanout) read() {
	ctx := context.Background()
	for {
		f.mu.Lock()
		if f.watchers == 0 {
			f.running = false
			f.mu.Unlock()
			return
		}
		last := f.last
		f.mu.Unlock()

		changes, err := f.feed.ListChanges(ctx, last, watchBatch)
		if err == nil && len(changes) == 0 {
			// WaitForChange returns at a commit or after a second, when
			// the loop looks again at whether anyone still watches.
			err = f.feed.WaitForChange(ctx, last)
		}
		f.mu.Lock()
		if err != nil {
			f.err, f.running = err, false
		} else if len(changes) > 0 {
			f.events = append(f.events, toEvents(changes)...)
			f.last = changes[len(changes)-1].Seq
			if drop := len(f.events) - f.keep; drop > 0 {
				f.from = f.events[drop-1].seq
				// Copy rather than reslice, so the buffer does not grow
				// without bound; watchers keep the slices they hold.
				f.events = append([]event(nil), f.events[drop:]...)
			}
		}
		if err != nil || len(changes) > 0 {
			f.grown.Notify()
		}
		f.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func toEvents(changes []customer.Change) []event {
	out := make([]event, len(changes))
	for i, c := range changes {
		out[i] = event{seq: c.Seq, msg: &customerv1.ChangeEvent{
			Type: changeTypes[c.Type], Customer: toProto(c.Customer), ResumeToken: encodeResume(c.Seq),
		}}
	}
	return out
}

// erase replaces the kept events of customer id, whose values an erasure
// has just removed from the database, with the tombstones the database
// now holds (reading them again), so that watchers that resume from the
// buffer get no values either. Watchers already sending an old slice of
// the buffer finish it.
func (f *fanout) erase(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.events, func(e event) bool { return e.msg.GetCustomer().GetId() == id })
	if i < 0 {
		return
	}
	// A new array: watchers may hold slices of the old one.
	events := slices.Clone(f.events)
	for j := i; j < len(events); j++ {
		if c := events[j].msg.GetCustomer(); c.GetId() == id {
			events[j].msg = tombstone(events[j].msg)
		}
	}
	f.events = events
}

// tombstone returns ev without the customer's values: what the database
// keeps of an erased customer's change, and an erased deletion.
func tombstone(ev *customerv1.ChangeEvent) *customerv1.ChangeEvent {
	c := ev.GetCustomer()
	typ := ev.GetType()
	if typ == customerv1.ChangeType_CHANGE_TYPE_DELETED {
		typ = customerv1.ChangeType_CHANGE_TYPE_ERASED
	}
	return &customerv1.ChangeEvent{
		Type: typ, ResumeToken: ev.GetResumeToken(),
		Customer: &customerv1.Customer{Id: c.GetId(), CreateTime: c.GetCreateTime(), UpdateTime: c.GetUpdateTime(), Etag: c.GetEtag()},
	}
}
