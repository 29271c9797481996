package rpc_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"pgregory.net/rapid"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
)

// model is the reference for ListCustomers: the customers the server
// should hold, as its responses returned them, and a plain, obviously
// correct (sort everything, filter everything) way to compute a page.
type model map[int64]*customerv1.Customer

// listSpec is what a listing asks for, besides the page size.
type listSpec struct {
	orderBy      string
	query        string
	updatedAfter time.Time // zero: no filter
}

func (s listSpec) String() string {
	ua := "-"
	if !s.updatedAfter.IsZero() {
		ua = s.updatedAfter.Format("15:04:05.000")
	}
	return fmt.Sprintf("order=%q query=%q updated_after=%s", s.orderBy, s.query, ua)
}

// foldASCII lower-cases ASCII letters only, as SQLite's NOCASE does.
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// compare orders a and b by field (then id), ascending.
func compare(field string, a, b *customerv1.Customer) int {
	var c int
	switch field {
	case "name":
		c = strings.Compare(foldASCII(a.Name), foldASCII(b.Name))
	case "email":
		c = strings.Compare(foldASCII(a.Email), foldASCII(b.Email))
	case "create_time":
		c = a.CreateTime.AsTime().Compare(b.CreateTime.AsTime())
	case "update_time":
		c = a.UpdateTime.AsTime().Compare(b.UpdateTime.AsTime())
	}
	if c == 0 {
		c = cmpInt(a.Id, b.Id)
	}
	return c
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// matches reports whether every query word starts a word of some field.
func matches(c *customerv1.Customer, query string) bool {
	var tokens []string
	for _, f := range []string{c.Name, c.Email, c.GetPhone(), c.GetAddress()} {
		tokens = append(tokens, strings.FieldsFunc(strings.ToLower(f), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		})...)
	}
	for _, w := range strings.Fields(strings.ToLower(query)) {
		if !slices.ContainsFunc(tokens, func(t string) bool { return strings.HasPrefix(t, w) }) {
			return false
		}
	}
	return true
}

func (m model) filtered(s listSpec) []*customerv1.Customer {
	field, desc := strings.CutSuffix(s.orderBy, " desc")
	if field == "" {
		field = "id"
	}
	var out []*customerv1.Customer
	for _, c := range m {
		if matches(c, s.query) && (s.updatedAfter.IsZero() || c.UpdateTime.AsTime().After(s.updatedAfter)) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *customerv1.Customer) int {
		if desc {
			return compare(field, b, a)
		}
		return compare(field, a, b)
	})
	return out
}

// page returns the first n customers of the listing that come after last
// (the last customer of the previous page as it was returned, nil at the
// start).
func (m model) page(s listSpec, last *customerv1.Customer, n int) []*customerv1.Customer {
	field, desc := strings.CutSuffix(s.orderBy, " desc")
	if field == "" {
		field = "id"
	}
	var out []*customerv1.Customer
	for _, c := range m.filtered(s) {
		if last != nil {
			d := compare(field, c, last)
			if desc {
				d = -d
			}
			if d <= 0 {
				continue
			}
		}
		if len(out) == n {
			break
		}
		out = append(out, c)
	}
	return out
}

func (m model) put(c *customerv1.Customer) { m[c.Id] = c }

var (
	firstNames = []string{"Ada", "ada", "Alan", "Grace", "Edsger", "Barbara", "Zed", "alan"}
	lastNames  = []string{"Lovelace", "King", "Turing", "Hopper", "Dijkstra", "Liskov"}
	addresses  = []string{"London", "Paris", "Cambridge", "London Road, Leeds"}
)

// failer is what pager needs of *testing.T and *rapid.T.
type failer interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// pager drives one server and keeps the model in step with every write.
type pager struct {
	t      failer
	client customerv1connect.CustomerServiceClient
	model  model
	serial int
}

func (p *pager) create(first, last string, addr *string) *customerv1.Customer {
	p.t.Helper()
	p.serial++
	res, err := p.client.CreateCustomer(context.Background(), &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
		Name: first + " " + last, Email: fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(first), strings.ToLower(last), p.serial),
		Address: addr,
	}})
	if err != nil {
		p.t.Fatalf("create: %v", err)
	}
	p.model.put(res.Customer)
	return res.Customer
}

func (p *pager) update(id int64, name string, addr *string) {
	p.t.Helper()
	res, err := p.client.UpdateCustomer(context.Background(), &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{Id: id, Name: name, Address: addr},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "address"}},
	})
	if err != nil {
		p.t.Fatalf("update %d: %v", id, err)
	}
	p.model.put(res.Customer)
}

func (p *pager) delete(id int64) {
	p.t.Helper()
	if _, err := p.client.DeleteCustomer(context.Background(), &customerv1.DeleteCustomerRequest{Id: id}); err != nil {
		p.t.Fatalf("delete %d: %v", id, err)
	}
	delete(p.model, id)
}

// fetch gets one page and checks it against the model: the same customers,
// field for field, in the same order, and a next-page token exactly when the
// model has more.
func (p *pager) fetch(s listSpec, token string, last *customerv1.Customer, size int) (*customerv1.ListCustomersResponse, []*customerv1.Customer) {
	p.t.Helper()
	req := &customerv1.ListCustomersRequest{PageSize: int32(size), PageToken: token, Query: s.query, OrderBy: s.orderBy, IncludeTotal: token == ""}
	if !s.updatedAfter.IsZero() {
		req.UpdatedAfter = timestamppb.New(s.updatedAfter)
	}
	res, err := p.client.ListCustomers(context.Background(), req)
	if err != nil {
		p.t.Fatalf("%v size=%d: %v", s, size, err)
	}
	want := p.model.page(s, last, size+1)
	more := len(want) > size
	if more {
		want = want[:size]
	}
	if diff := cmp.Diff(want, res.Customers, protocmp.Transform(), cmp.Comparer(func(a, b []*customerv1.Customer) bool {
		return cmp.Equal(a, b, protocmp.Transform()) || len(a) == 0 && len(b) == 0
	})); diff != "" {
		p.t.Fatalf("%v size=%d after=%v: page differs from the model (-want +got):\n%s", s, size, idOf(last), diff)
	}
	if more != (res.NextPageToken != "") {
		p.t.Fatalf("%v size=%d: next_page_token %q, model has more: %v", s, size, res.NextPageToken, more)
	}
	if token == "" {
		if n := len(p.model.filtered(s)); int(res.TotalSize) != n {
			p.t.Fatalf("%v: total_size %d, model has %d", s, res.TotalSize, n)
		}
	}
	return res, res.Customers
}

func idOf(c *customerv1.Customer) any {
	if c == nil {
		return "start"
	}
	return c.Id
}

// TestListAgainstModel pages through every order × filter × page size
// while customers are created, renamed, moved and deleted between pages, and
// checks every page against the reference model.
func TestListAgainstModel(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		srv := startServerOn(t, e, engine.Options{})
		p := &pager{t: t, client: customerv1connect.NewCustomerServiceClient(h2c, srv.url), model: model{}}
		for i := range 16 {
			var addr *string
			if i%4 != 3 {
				addr = &addresses[i%len(addresses)]
			}
			p.create(firstNames[i%len(firstNames)], lastNames[i%len(lastNames)], addr)
		}
		orders := []string{"", "id desc", "name", "name desc", "email", "email desc", "create_time", "create_time desc", "update_time", "update_time desc"}
		step := 0
		for _, orderBy := range orders {
			for _, filter := range []string{"none", "query", "two words", "updated_after", "query+updated_after"} {
				for _, size := range []int{1, 3, 50} {
					s := listSpec{orderBy: orderBy}
					if strings.Contains(filter, "query") {
						s.query = "lond"
					}
					if filter == "two words" {
						s.query = "ADA lon"
					}
					if strings.Contains(filter, "updated_after") {
						all := p.model.filtered(listSpec{orderBy: "update_time"})
						s.updatedAfter = all[len(all)/2].UpdateTime.AsTime()
					}
					var token string
					var last *customerv1.Customer
					for pages := 0; ; pages++ {
						if pages > 200 {
							t.Fatalf("%v: more than 200 pages", s)
						}
						res, got := p.fetch(s, token, last, size)
						if len(got) > 0 {
							last = got[len(got)-1]
						}
						if res.NextPageToken == "" {
							break
						}
						token = res.NextPageToken
						mutate(p, step, last)
						step++
					}
				}
			}
		}
		t.Logf("%d writes between pages; %d customers at the end", step, len(p.model))
	})
}

// mutate makes write number step: a create, a delete of a row already seen
// or not yet seen, a rename (which moves a row in name order and to the end
// in update_time order) or a move to another address (in or out of a search).
func mutate(p *pager, step int, last *customerv1.Customer) {
	ids := make([]int64, 0, len(p.model))
	for id := range p.model {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	pick := ids[(step*7)%len(ids)]
	// Creates and deletes balance around 20 customers, so that listings
	// with a page size of 1 still end.
	grow := len(ids) < 20
	switch step % 5 {
	case 0, 3:
		if grow {
			p.create(firstNames[step%len(firstNames)], lastNames[(step/2)%len(lastNames)], &addresses[step%len(addresses)])
		} else {
			p.delete(pick)
		}
	case 1:
		if len(ids) > 12 {
			p.delete(pick)
		}
	case 2:
		c := p.model[pick]
		p.update(pick, firstNames[(step+3)%len(firstNames)]+" "+lastNames[step%len(lastNames)], c.Address)
	case 4:
		if last != nil {
			c := p.model[last.Id]
			if c != nil {
				p.update(c.Id, c.Name, &addresses[(step/5)%len(addresses)])
			}
		}
	}
}

// TestListNeverSkipsOrRepeats is a property test: under random interleavings
// of writes and page fetches, in any order and filter, every page equals the
// model's, so no customer that stays put is ever skipped or repeated.
func TestListNeverSkipsOrRepeats(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		srv := startServerOn(t, e, engine.Options{})
		client := customerv1connect.NewCustomerServiceClient(h2c, srv.url)
		p := &pager{client: client, model: model{}}
		rapid.Check(t, func(rt *rapid.T) {
			p.t = rt
			// Start each run from what the server holds.
			p.model = model{}
			res, err := client.ListCustomers(context.Background(), &customerv1.ListCustomersRequest{PageSize: 1000})
			if err != nil {
				rt.Fatal(err)
			}
			for _, c := range res.Customers {
				p.model.put(c)
			}
			for len(p.model) < 5 {
				p.create("Seed", "Lovelace", nil)
			}
			s := listSpec{
				orderBy: rapid.SampledFrom([]string{"", "id desc", "name", "name desc", "email", "email desc",
					"create_time", "create_time desc", "update_time", "update_time desc"}).Draw(rt, "order"),
				query: rapid.SampledFrom([]string{"", "ada", "lo", "alan t", "london"}).Draw(rt, "query"),
			}
			size := rapid.IntRange(1, 4).Draw(rt, "size")
			var token string
			var last *customerv1.Customer
			for range 30 {
				res, got := p.fetch(s, token, last, size)
				if len(got) > 0 {
					last = got[len(got)-1]
				}
				if res.NextPageToken == "" {
					return
				}
				token = res.NextPageToken
				for range rapid.IntRange(0, 3).Draw(rt, "writes") {
					ids := make([]int64, 0, len(p.model))
					for id := range p.model {
						ids = append(ids, id)
					}
					slices.Sort(ids)
					id := rapid.SampledFrom(ids).Draw(rt, "id")
					switch rapid.IntRange(0, 2).Draw(rt, "write") {
					case 0:
						p.create(rapid.SampledFrom(firstNames).Draw(rt, "first"), rapid.SampledFrom(lastNames).Draw(rt, "last"),
							&addresses[rapid.IntRange(0, len(addresses)-1).Draw(rt, "addr")])
					case 1:
						if len(ids) > 3 {
							p.delete(id)
						}
					case 2:
						p.update(id, rapid.SampledFrom(firstNames).Draw(rt, "first")+" "+rapid.SampledFrom(lastNames).Draw(rt, "last"),
							&addresses[rapid.IntRange(0, len(addresses)-1).Draw(rt, "addr")])
					}
				}
			}
		})
	})
}

func TestListTokenIsBoundToRequest(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		srv := startServerOn(t, e, engine.Options{})
		p := &pager{t: t, client: customerv1connect.NewCustomerServiceClient(http1, srv.url), model: model{}}
		for i := range 5 {
			p.create("Ada", lastNames[i], &addresses[0])
		}
		ctx := context.Background()
		first := &customerv1.ListCustomersRequest{PageSize: 2, Query: "ada", OrderBy: "name desc"}
		res, err := p.client.ListCustomers(ctx, first)
		if err != nil || res.NextPageToken == "" {
			t.Fatalf("first page: %v, %v", res, err)
		}
		for name, req := range map[string]*customerv1.ListCustomersRequest{
			"OtherQuery":   {PageToken: res.NextPageToken, Query: "lovelace", OrderBy: "name desc"},
			"OtherOrder":   {PageToken: res.NextPageToken, Query: "ada", OrderBy: "name"},
			"NoQuery":      {PageToken: res.NextPageToken, OrderBy: "name desc"},
			"UpdatedAfter": {PageToken: res.NextPageToken, Query: "ada", OrderBy: "name desc", UpdatedAfter: timestamppb.New(time.Unix(0, 0))},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := p.client.ListCustomers(ctx, req)
				wantError(t, err, connect.CodeInvalidArgument, "page_token")
			})
		}
		// Equivalent spellings of the same request, and another page size, are fine.
		_, err = p.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 3, PageToken: res.NextPageToken, Query: "  ada ", OrderBy: "name desc"})
		if err != nil {
			t.Fatalf("same request, other page size: %v", err)
		}
	})
}

func TestListInvalidOrder(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		srv := startServerOn(t, e, engine.Options{})
		client := customerv1connect.NewCustomerServiceClient(http1, srv.url)
		for _, o := range []string{"phone", "name desc desc", "name descending", "NAME", "id,name", "name desc, id", "; DROP TABLE customers"} {
			_, err := client.ListCustomers(context.Background(), &customerv1.ListCustomersRequest{OrderBy: o})
			wantError(t, err, connect.CodeInvalidArgument, "order_by")
		}
	})
}
