package postgres

import (
	"context"
	"sync"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/pgdb"
	"customerd/internal/pgtest"
	"customerd/internal/waitfor"
)

// TestBatchIsolatesFailures puts a panicking write and a failing write in
// the same batch as good ones: only the bad ones fail.
func TestBatchIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Go(func() {
			switch i % 3 {
			case 0:
				errs[i] = s.batch.Do(ctx, func(ctx context.Context, t *txn) error {
					if _, err := t.q.CreateCustomer(ctx, pgdb.CreateCustomerParams{Name: "P", Email: "panic@example.com"}); err != nil {
						return err
					}
					panic("boom")
				})
			case 1:
				_, errs[i] = s.CreateCustomer(ctx, customer.New{Name: "Dup", Email: "ADA@example.com"})
			default:
				_, errs[i] = s.CreateCustomer(ctx, customer.New{Name: "Ok", Email: string(rune('a'+i)) + "@example.com"})
			}
		})
	}
	waitfor.Group(t, &wg, "the writes")
	for i, err := range errs {
		switch {
		case i%3 == 0 && err == nil, i%3 == 1 && customer.ErrorCode(s.mapError(err)) != customer.AlreadyExists, i%3 == 2 && err != nil:
			t.Errorf("write %d: %v", i, err)
		}
	}
	if n, _ := s.CountCustomers(ctx, customer.ListParams{}); n != 11 {
		t.Fatalf("%d customers, want Ada and 10 good creates", n)
	}
}

func TestCloseRunsAcceptedWrites(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.CreateCustomer(ctx, customer.New{Name: "C", Email: string(rune(0x4e00+i)) + "@example.com"})
		})
	}
	go s.Close()
	waitfor.Group(t, &wg, "the writes")
	for _, err := range errs {
		if err != nil && customer.ErrorCode(s.mapError(err)) != customer.Unavailable {
			t.Fatalf("a write during Close failed with %v, want success or Unavailable", err)
		}
	}
}
