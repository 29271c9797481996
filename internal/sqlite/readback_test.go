package sqlite

import (
	"context"
	"fmt"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/waitfor"
)

// The updates of one write transaction are read back together before
// COMMIT. This test queues writes behind a write that holds the writer, so
// that they share the next transaction, and checks that each caller is
// answered with what its own write did: two updates of one customer, an
// update then a delete of another, and a write that fails (which makes the
// batch run again with savepoints).
func TestReadBackAnswersEachWrite(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{})
	var cs []customer.Customer
	for i := range 3 {
		c, err := s.CreateCustomer(ctx, customer.New{Name: fmt.Sprint("C", i), Email: fmt.Sprintf("c%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	x, y, z := cs[0], cs[1], cs[2]

	started, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.batch.Do(ctx, func(context.Context, *txn) error {
			close(started)
			<-release
			return nil
		})
	}()
	waitfor.Recv(t, started, "the holding write to start")
	type answer struct {
		c   customer.Customer
		err error
	}
	var answers []chan answer
	queue := func(f func() (customer.Customer, error)) {
		ch := make(chan answer, 1)
		answers = append(answers, ch)
		before := s.batch.QueueLen()
		go func() { c, err := f(); ch <- answer{c, err} }()
		// queued in order, behind the held write
		waitfor.Cond(t, "the write to queue", func() bool { return s.batch.QueueLen() != before })
	}
	name := func(n string) *string { return &n }
	queue(func() (customer.Customer, error) {
		return s.UpdateCustomer(ctx, customer.Update{ID: x.ID, Name: name("X1")})
	})
	queue(func() (customer.Customer, error) {
		return s.UpdateCustomer(ctx, customer.Update{ID: x.ID, Name: name("X2")})
	})
	queue(func() (customer.Customer, error) {
		return s.UpdateCustomer(ctx, customer.Update{ID: y.ID, Name: name("Y1")})
	})
	queue(func() (customer.Customer, error) { return customer.Customer{}, s.DeleteCustomer(ctx, y.ID, "") })
	queue(func() (customer.Customer, error) {
		return s.UpdateCustomer(ctx, customer.Update{ID: z.ID, Email: name(x.Email)}) // taken: fails
	})
	queue(func() (customer.Customer, error) {
		return s.UpdateCustomer(ctx, customer.Update{ID: z.ID, Name: name("Z1")})
	})
	close(release)
	if err := waitfor.Recv(t, held, "the holding write's answer"); err != nil {
		t.Fatal(err)
	}
	got := make([]answer, len(answers))
	for i, ch := range answers {
		got[i] = waitfor.Recv(t, ch, fmt.Sprintf("the answer of queued write %d", i))
	}
	if st := s.WriterStats(); st.Reruns != 1 {
		t.Fatalf("%d reruns, want the queued writes in one batch that ran again once", st.Reruns)
	}
	want := []struct {
		name string
		rev  int64 // revisions after the create's 1
		err  customer.Code
	}{
		{"X1", 2, -1}, {"X2", 3, -1}, {"Y1", 2, -1}, {"", 0, -1}, {"", 0, customer.AlreadyExists}, {"Z1", 2, -1},
	}
	for i, w := range want {
		a := got[i]
		if w.err >= 0 {
			if customer.ErrorCode(a.err) != w.err || a.err == nil {
				t.Errorf("write %d: got %v, want %v", i, a.err, w.err)
			}
			continue
		}
		if a.err != nil {
			t.Errorf("write %d: %v", i, a.err)
			continue
		}
		if w.name != "" && (a.c.Name != w.name || a.c.Etag != customer.Etag(a.c.ID, w.rev)) {
			t.Errorf("write %d answered %q with etag %s; want %q at revision %d", i, a.c.Name, a.c.Etag, w.name, w.rev)
		}
	}
	if got[0].c.UpdateTime.After(got[1].c.UpdateTime) || got[0].c.UpdateTime.Equal(got[1].c.UpdateTime) {
		t.Errorf("update times %v then %v: want the second later", got[0].c.UpdateTime, got[1].c.UpdateTime)
	}
	if _, err := s.GetCustomer(ctx, y.ID); customer.ErrorCode(err) != customer.NotFound {
		t.Errorf("customer y after its delete: %v, want not found", err)
	}
}
