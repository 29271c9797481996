package rpc_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

// The handlers' hot paths through a real server and the Connect JSON client
// (client costs included), with 64 concurrent callers:
//
//	go test ./internal/rpc -run '^$' -bench RPC -benchmem -cpuprofile cpu.out
func BenchmarkRPCCreate(b *testing.B) {
	srv := startServer(&testing.T{})
	client := customerv1connect.NewCustomerServiceClient(http1, srv.url, connect.WithProtoJSON())
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			phone := "+44 20 7946 0000"
			if _, err := client.CreateCustomer(context.Background(), &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
				Name: "Bench Mark", Email: fmt.Sprintf("bench%d@example.com", n.Add(1)), Phone: &phone,
			}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRPCGet(b *testing.B) {
	srv := startServer(&testing.T{})
	client := customerv1connect.NewCustomerServiceClient(http1, srv.url, connect.WithProtoJSON())
	c := create(&testing.T{}, client, "Ada", "ada@example.com")
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.GetCustomer(context.Background(), &customerv1.GetCustomerRequest{Id: c.Id}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRPCUpdate(b *testing.B) {
	srv := startServer(&testing.T{})
	client := customerv1connect.NewCustomerServiceClient(http1, srv.url, connect.WithProtoJSON())
	c := create(&testing.T{}, client, "Ada", "ada@example.com")
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.UpdateCustomer(context.Background(), &customerv1.UpdateCustomerRequest{
				Customer:   &customerv1.Customer{Id: c.Id, Name: fmt.Sprint("Ada ", n.Add(1))},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRESTGet is BenchmarkRPCGet over REST (GET /v1/customers/{id}),
// client costs included: the transcoder's price beside the Connect call.
func BenchmarkRESTGet(b *testing.B) {
	srv := startServer(&testing.T{})
	client := customerv1connect.NewCustomerServiceClient(http1, srv.url, connect.WithProtoJSON())
	c := create(&testing.T{}, client, "Ada", "ada@example.com")
	url := fmt.Sprintf("%s/v1/customers/%d", srv.url, c.Id)
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := http1.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatal(res.Status)
			}
		}
	})
}
