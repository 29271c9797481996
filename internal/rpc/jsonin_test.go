package rpc

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "customerd/gen/customer/v1"
)

// requestKinds are the request messages the compact reader is tried on.
var requestKinds = []func() proto.Message{
	func() proto.Message { return &customerv1.GetCustomerRequest{} },
	func() proto.Message { return &customerv1.CreateCustomerRequest{} },
	func() proto.Message { return &customerv1.UpdateCustomerRequest{} },
	func() proto.Message { return &customerv1.DeleteCustomerRequest{} },
	func() proto.Message { return &customerv1.ListCustomersRequest{} },
	func() proto.Message { return &customerv1.ListAuditEventsRequest{} },
}

// checkCompactJSON reads body into a fresh message of kind with the compact
// reader and with protojson (as the codec calls it) and fails t when the
// reader accepted something protojson reads otherwise or refuses, or when
// the codec as a whole answers otherwise than protojson. It reports whether
// the compact reader took the body.
func checkCompactJSON(t *testing.T, kind func() proto.Message, body []byte) bool {
	t.Helper()
	want := kind()
	werr := protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, want)
	fast := kind()
	took := readCompactJSON(body, fast.ProtoReflect())
	if took && (werr != nil || !proto.Equal(fast, want)) {
		t.Errorf("%s into %T: the compact reader read %v, protojson %v (%v)", body, want, fast, want, werr)
	}
	got := kind()
	gerr := jsonCodec{}.Unmarshal(body, got)
	if (gerr == nil) != (werr == nil) || (gerr == nil && !proto.Equal(got, want)) {
		t.Errorf("%s into %T: the codec read %v (%v), protojson %v (%v)", body, want, got, gerr, want, werr)
	}
	return took
}

// TestCompactJSONAgreesWithProtojson tries the compact reader on hand-made
// edge cases and on many random requests, written by protojson and then
// bent (white space, escapes, duplicate and unknown keys, odd numbers,
// field masks): whatever it reads, protojson reads the same, and the codec
// answers every body as protojson does. The common bodies must take the
// fast path.
func TestCompactJSONAgreesWithProtojson(t *testing.T) {
	for _, body := range []string{
		`{"id":"42"}`, `{"customer":{"name":"Ada","email":"ada@example.com"}}`, `{"pageSize":50}`,
		`{"customer":{"id":"7","name":"Renamed 3"},"updateMask":"name"}`, `{"id":"7","customer":{"phone":""},"updateMask":"phone,address"}`,
		`{"customer":{"name":"Ada","email":"ada@example.com"},"requestId":"6f1c2f7e-1f0b-4b8e-9a43-1e7f0c9d2a11"}`,
		`{}`, `{"page_size":50,"orderBy":"name"}`,
	} {
		took := false
		for _, kind := range requestKinds {
			took = checkCompactJSON(t, kind, []byte(body)) || took
		}
		if !took {
			t.Errorf("%s: no request kind took the fast path", body)
		}
	}
	edge := []string{
		`{"id":"0"}`, `{"id":0}`, `{"id":"9223372036854775807"}`, `{"id":9223372036854775807}`,
		`{"id":"9223372036854775808"}`, `{"id":"99999999999999999999"}`, `{"id":"007"}`, `{"id":007}`,
		`{"id":"-1"}`, `{"id":-1}`, `{"id":"1e3"}`, `{"id":1.0}`, `{"id":"42}`, `{"id":42"}`, `{"id":""}`,
		`{"id":}`, `{"id": 42}`, `{"id":42 }`, `{"id":"4 2"}`, `{"id":true}`, `{"id":null}`, `{"id":"0x10"}`,
		`{"id":42,"x":1}`, `{"id":42}}`, `{"id":"42"`, `{"Id":42}`, `{"id":42,"id":43}`, `{"id":42,}`, `{,}`,
		`{"pageSize":2147483647}`, `{"pageSize":2147483648}`, `{"pageSize":50,"page_size":50}`, `{"pageSize":"50"}`,
		`{"customer":{"name":"A\"da"}}`, `{"customer":{"name":"A\u0041"}}`, "{\"customer\":{\"name\":\"A\x01\"}}",
		"{\"customer\":{\"name\":\"\xff\"}}", `{"customer":{"name":"Ada","name":"Bob"}}`, `{"customer":null}`,
		`{"customer":{}}`, `{"customer":{"createTime":"2026-01-01T00:00:00Z"}}`, `{"customer":{"phone":null}}`,
		`{"updateMask":""}`, `{"updateMask":"name,"}`, `{"updateMask":",name"}`, `{"updateMask":"Name"}`,
		`{"updateMask":"update_time"}`, `{"updateMask":"updateTime"}`, `{"updateMask":"name,email,phone,address"}`,
		`{"updateMask":{"paths":["name"]}}`, `{"update_mask":"name"}`, `{"customer":{"id":"1"},"customer":{"id":"2"}}`,
		`{"customer":{"name":"Ada"},"updateMask":"name","id":"3"}`, `{"oldestFirst":true}`, `{"oldestFirst":"true"}`,
		`{"oldestFirst":tru}`, `{"oldestFirst":false}`, `[]`, `""`, ``, `{`, `}`, `{"":1}`, `{"id":1}garbage`,
	}
	for _, body := range edge {
		for _, kind := range requestKinds {
			checkCompactJSON(t, kind, []byte(body))
		}
	}
	r := rand.New(rand.NewPCG(7, 8))
	fast := 0
	const n = 3000
	for i := range n {
		var m proto.Message
		switch i % 4 {
		case 0:
			m = &customerv1.CreateCustomerRequest{Customer: randomCustomer(r), RequestId: randomText(r, 3)}
		case 1:
			u := &customerv1.UpdateCustomerRequest{Customer: randomCustomer(r), Id: r.Int64N(1000)}
			if r.IntN(3) > 0 {
				paths := []string{"name", "email", "phone", "address", "update_time", "Name", ""}
				u.UpdateMask = &fieldmaskpb.FieldMask{}
				for range r.IntN(3) + 1 {
					u.UpdateMask.Paths = append(u.UpdateMask.Paths, paths[r.IntN(len(paths))])
				}
			}
			m = u
		case 2:
			m = &customerv1.ListCustomersRequest{PageSize: r.Int32N(300) - 10, Query: randomText(r, 5), OrderBy: "name"}
		default:
			m = &customerv1.GetCustomerRequest{Id: r.Int64N(1 << 40)}
		}
		if r.IntN(2) == 0 && i%4 == 0 {
			// Clean text, so that the fast path is taken often.
			c := m.(*customerv1.CreateCustomerRequest).Customer
			c.Name, c.Email, c.CreateTime, c.UpdateTime = fmt.Sprintf("Name %d", i), fmt.Sprintf("e%d@example.com", i), nil, nil
			c.Phone, c.Address, c.Etag, m.(*customerv1.CreateCustomerRequest).RequestId = nil, nil, "", ""
		}
		opts := protojson.MarshalOptions{UseProtoNames: r.IntN(2) == 0}
		b, err := opts.Marshal(m)
		if err != nil {
			continue // an update mask protojson cannot write
		}
		body := bend(r, compactBytes(t, b))
		took := false
		for _, kind := range requestKinds {
			took = checkCompactJSON(t, kind, body) || took
		}
		if took {
			fast++
		}
	}
	if fast < n/8 {
		t.Errorf("the fast path took %d of %d random bodies for some request type; the test no longer exercises it", fast, n)
	}
}

// compactBytes takes protojson's random spaces out of b.
func compactBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var out strings.Builder
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			out.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
			out.WriteByte(c)
		case c != ' ' && c != '\n':
			out.WriteByte(c)
		}
	}
	return []byte(out.String())
}

// bend changes a body now and then in one of the ways clients differ.
func bend(r *rand.Rand, b []byte) []byte {
	s := string(b)
	switch r.IntN(12) {
	case 0:
		s = strings.Replace(s, ":", ": ", 1)
	case 1:
		s = strings.Replace(s, `{"`, `{"zz":1,"`, 1)
	case 2:
		if i := strings.Index(s, `,"`); i > 0 {
			j := strings.Index(s[i+1:], `,`)
			if j > 0 {
				s = s[:i] + s[i:i+1+j] + s[i:] // a key twice
			}
		}
	case 3:
		s = strings.Replace(s, `":"`, `":"\u0041`, 1)
	case 4:
		s = strings.Replace(s, `"id":"`, `"id":"0`, 1)
	case 5:
		s = strings.Replace(s, `"`, `"`+"\xc3", 3)
	case 6:
		s += " "
	}
	return []byte(s)
}

// FuzzCompactJSON checks any body against protojson (go test -fuzz).
func FuzzCompactJSON(f *testing.F) {
	for _, s := range []string{`{"id":"42"}`, `{"customer":{"name":"Ada","email":"a@b.c"},"updateMask":"name"}`, `{"pageSize":50}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, kind := range requestKinds {
			checkCompactJSON(t, kind, body)
		}
	})
}

// BenchmarkRequestJSON reads common request bodies with the compact reader
// and with protojson.
func BenchmarkRequestJSON(b *testing.B) {
	bodies := map[string]struct {
		body string
		kind func() proto.Message
	}{
		"get":    {`{"id":"4242"}`, requestKinds[0]},
		"create": {`{"customer":{"name":"Load 1","email":"l123-1@example.com"}}`, requestKinds[1]},
		"update": {`{"customer":{"id":"4242","name":"Renamed 1"},"updateMask":"name"}`, requestKinds[2]},
	}
	for name, c := range bodies {
		m := c.kind()
		b.Run(name+"/compact", func(b *testing.B) {
			for b.Loop() {
				proto.Reset(m)
				readCompactJSON([]byte(c.body), m.ProtoReflect())
			}
		})
		b.Run(name+"/protojson", func(b *testing.B) {
			for b.Loop() {
				protojson.Unmarshal([]byte(c.body), m)
			}
		})
	}
}
