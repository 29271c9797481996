package rpc

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "customerd/gen/customer/v1"
)

// randomText returns a string of up to n runes drawn from letters, digits,
// JSON's special characters, every control character, and non-ASCII text
// up to four bytes a rune.
func randomText(r *rand.Rand, n int) string {
	pool := []rune("aZ09 .@+-_\"\\/<>&'\u007f\u00e9\u00df\u0142\u4e2d\u2028\u2029\U0001F600\uFFFD\u00a0")
	var b strings.Builder
	for range r.IntN(n + 1) {
		if r.IntN(8) == 0 {
			b.WriteRune(rune(r.IntN(0x20))) // a control character
		} else {
			b.WriteRune(pool[r.IntN(len(pool))])
		}
	}
	return b.String()
}

func randomTimestamp(r *rand.Rand) *timestamppb.Timestamp {
	if r.IntN(10) == 0 {
		return nil
	}
	secs := r.Int64N(maxTimestampSeconds-minTimestampSeconds+1) + minTimestampSeconds
	switch r.IntN(20) {
	case 0:
		secs = minTimestampSeconds
	case 1:
		secs = maxTimestampSeconds
	case 2, 3, 4, 5, 6, 7, 8, 9, 10, 11:
		secs = 1_700_000_000 + r.Int64N(100_000_000) // today's range
	}
	nanos := []int32{0, r.Int32N(1000) * 1_000_000, r.Int32N(1_000_000) * 1000, r.Int32N(1_000_000_000)}[r.IntN(4)]
	return &timestamppb.Timestamp{Seconds: secs, Nanos: nanos}
}

func randomCustomer(r *rand.Rand) *customerv1.Customer {
	c := &customerv1.Customer{
		Id: []int64{0, 1, r.Int64(), -r.Int64()}[r.IntN(4)], Name: randomText(r, 40), Email: randomText(r, 30),
		CreateTime: randomTimestamp(r), UpdateTime: randomTimestamp(r), Etag: randomText(r, 16),
	}
	if r.IntN(3) > 0 {
		c.Phone = proto.String(randomText(r, 20))
	}
	if r.IntN(3) > 0 {
		c.Address = proto.String(randomText(r, 60))
	}
	return c
}

// compact is protojson's output without its random spaces.
func compact(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestResponseJSONIsProtojson compares the hand-written encoder with
// protojson over many random responses of every kind it handles: the same
// bytes once protojson's random spaces are taken out.
func TestResponseJSONIsProtojson(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		var customers []*customerv1.Customer
		for range r.IntN(4) {
			customers = append(customers, randomCustomer(r))
		}
		c := randomCustomer(r)
		if i%50 == 0 {
			c = nil
		}
		msgs := []proto.Message{
			&customerv1.GetCustomerResponse{Customer: c},
			&customerv1.CreateCustomerResponse{Customer: c},
			&customerv1.UpdateCustomerResponse{Customer: c},
			&customerv1.ListCustomersResponse{Customers: customers, NextPageToken: []string{"", randomText(r, 20)}[r.IntN(2)],
				TotalSize: []int32{0, r.Int32(), -1}[r.IntN(3)]},
		}
		for _, m := range msgs {
			got, ok := appendResponseJSON([]byte("prefix"), m)
			if !ok {
				t.Fatalf("%T was not encoded: %v", m, m)
			}
			if want := compact(t, m); !bytes.Equal(got[len("prefix"):], want) || string(got[:len("prefix")]) != "prefix" {
				t.Fatalf("%T:\n got %s\nwant %s", m, got, want)
			}
		}
	}
}

// TestResponseJSONLeavesTheRestToProtojson: what protojson refuses, and
// every other message, is not encoded by hand, and the codec's answer is
// protojson's.
func TestResponseJSONLeavesTheRestToProtojson(t *testing.T) {
	for _, m := range []proto.Message{
		&customerv1.GetCustomerResponse{Customer: &customerv1.Customer{Name: "bad \xff"}},
		&customerv1.ListCustomersResponse{Customers: []*customerv1.Customer{{CreateTime: &timestamppb.Timestamp{Seconds: maxTimestampSeconds + 1}}}},
		&customerv1.ListCustomersResponse{NextPageToken: "\xc3"},
		&customerv1.GetCustomerResponse{Customer: &customerv1.Customer{UpdateTime: &timestamppb.Timestamp{Nanos: -1}}},
		&customerv1.DeleteCustomerResponse{},
		&customerv1.GetCustomerRequest{Id: 7},
	} {
		if out, ok := appendResponseJSON(nil, m); ok {
			t.Errorf("%T %v encoded by hand as %s", m, m, out)
		}
		_, wantErr := protojson.Marshal(m)
		_, err := jsonCodec{name: "json"}.Marshal(m)
		if (err == nil) != (wantErr == nil) {
			t.Errorf("%T: codec error %v, protojson's %v", m, err, wantErr)
		}
	}
}

func BenchmarkListResponseJSON(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	page := &customerv1.ListCustomersResponse{NextPageToken: "CAEQMhgBIgEx"}
	for range 50 {
		c := randomCustomer(r)
		c.Name, c.Email, c.Etag = "Ada Lovelace", "ada@example.com", "4daa69c48087dbb8"
		page.Customers = append(page.Customers, c)
	}
	b.Run("protojson", func(b *testing.B) {
		for b.Loop() {
			protojson.MarshalOptions{}.MarshalAppend(nil, page)
		}
	})
	b.Run("hand", func(b *testing.B) {
		for b.Loop() {
			appendResponseJSON(nil, page)
		}
	})
}

// BenchmarkGzipPage compresses a page of 50 customers in JSON at gzip's
// default level and at BestSpeed, the level the server uses, and reports
// the compressed size of each.
func BenchmarkGzipPage(b *testing.B) {
	page := &customerv1.ListCustomersResponse{NextPageToken: "CAEQMhgBIgEx"}
	for i := range 50 {
		phone, addr := fmt.Sprintf("+44 20 %04d %04d", i*37%10000, i*91%10000), fmt.Sprintf("%d High Street, Leeds", i*7)
		page.Customers = append(page.Customers, &customerv1.Customer{
			Id: int64(1000 + i), Name: fmt.Sprintf("Customer %d Smith", i), Email: fmt.Sprintf("customer.%d@company%d.example", i, i%7),
			Phone: &phone, Address: &addr, CreateTime: timestamppb.New(time.Unix(1_790_000_000+int64(i)*61, 123_000_000)),
			UpdateTime: timestamppb.New(time.Unix(1_790_100_000+int64(i)*67, 456_000_000)), Etag: fmt.Sprintf("%016x", i*0x9e3779b9),
		})
	}
	body, _ := appendResponseJSON(nil, page)
	for _, level := range []int{gzip.DefaultCompression, gzip.BestSpeed} {
		b.Run(fmt.Sprint("level", level), func(b *testing.B) {
			var out bytes.Buffer
			w, _ := gzip.NewWriterLevel(&out, level)
			for b.Loop() {
				out.Reset()
				w.Reset(&out)
				w.Write(body)
				w.Close()
			}
			b.ReportMetric(float64(out.Len()), "bytes")
			b.ReportMetric(float64(len(body)), "json-bytes")
		})
	}
}
