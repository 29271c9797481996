package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "customerd/gen/customer/v1"
)

// ceilingCommand is the first argument that makes this program the ceiling
// server instead of the load generator.
const ceilingCommand = "ceiling-server"

// jsonCustomer is the JSON form of a customer, as protojson writes it.
type jsonCustomer struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	Phone      string `json:"phone,omitempty"`
	Address    string `json:"address,omitempty"`
	CreateTime string `json:"createTime"`
	UpdateTime string `json:"updateTime"`
	Etag       string `json:"etag"`
}

var ceilingCustomer = jsonCustomer{
	ID: "42", Name: "Ada Lovelace", Email: "ada.lovelace.42@company42.example", Phone: "+44 20 0042 0294",
	Address: "42 High Street, London", CreateTime: "2026-11-25T12:00:00.000Z", UpdateTime: "2026-11-25T12:00:00.000Z",
	Etag: "f4b5cb5bcc647005",
}

// serveCeiling is the ceiling baseline: a bare net/http server that does
// what customerd does minus everything behind the handler. It decodes each
// request (Connect JSON with encoding/json, gRPC with proto) and encodes a
// response of the same shape customerd sends: one customer, or 50 for a list.
func serveCeiling() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "listening on http://"+ln.Addr().String())
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: http.HandlerFunc(ceilingHandler), Protocols: &protocols, ErrorLog: log.New(io.Discard, "", 0)}
	return srv.Serve(ln)
}

func ceilingHandler(w http.ResponseWriter, r *http.Request) {
	list := strings.HasSuffix(r.URL.Path, "/ListCustomers")
	switch ct := r.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/grpc"):
		ceilingGRPC(w, r, list)
		return
	case ct == "application/proto":
		ceilingProto(w, r, list)
		return
	}
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var res any
	if list {
		cs := make([]jsonCustomer, 50)
		for i := range cs {
			cs[i] = ceilingCustomer
		}
		res = map[string]any{"customers": cs, "nextPageToken": "AgAAAAAAAAAAMgA"}
	} else {
		res = map[string]any{"customer": ceilingCustomer}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

func ceilingGRPC(w http.ResponseWriter, r *http.Request, list bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil || len(body) < 5 {
		http.Error(w, "bad frame", http.StatusBadRequest)
		return
	}
	out := ceilingAnswer(body[5:], list)
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(out)))
	w.Write(append(frame, out...))
	w.Header().Set("Grpc-Status", "0")
	w.Header().Set("Grpc-Message", "")
}

// ceilingProto answers a unary call of the Connect protocol with the
// binary codec: the message is the whole body.
func ceilingProto(w http.ResponseWriter, r *http.Request, list bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/proto")
	w.Write(ceilingAnswer(body, list))
}

// ceilingAnswer decodes a request and returns the encoded answer: one
// customer, or a page of 50 for a list.
func ceilingAnswer(body []byte, list bool) []byte {
	var req customerv1.GetCustomerRequest // the bytes decode as any of the requests' shapes
	_ = proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, &req)
	c := &customerv1.Customer{
		Id: 42, Name: ceilingCustomer.Name, Email: ceilingCustomer.Email, Phone: &ceilingCustomer.Phone,
		Address: &ceilingCustomer.Address, CreateTime: timestamppb.Now(), UpdateTime: timestamppb.Now(), Etag: ceilingCustomer.Etag,
	}
	var msg proto.Message = &customerv1.GetCustomerResponse{Customer: c}
	if list {
		res := &customerv1.ListCustomersResponse{NextPageToken: "AgAAAAAAAAAAMgA"}
		for range 50 {
			res.Customers = append(res.Customers, c)
		}
		msg = res
	}
	out, _ := proto.Marshal(msg)
	return out
}
