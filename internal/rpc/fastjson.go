package rpc

import (
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/internal/jsonstr"
)

// appendResponseJSON appends the protobuf JSON of the service's customer
// responses without going through protobuf reflection, which was the
// largest cost of a page of customers. It writes what protojson writes
// (field order, names, omitted defaults, int64 as strings, RFC 3339
// timestamps with 0, 3, 6 or 9 digits, its string escapes) minus the
// random spaces protojson adds so that nobody relies on its bytes;
// fastjson_test.go compares the two over random customers. It returns
// false, having appended nothing, for any other message and for a value
// protojson would refuse (invalid UTF-8, a timestamp out of range): the
// codec then marshals it with protojson.
func appendResponseJSON(dst []byte, m proto.Message) ([]byte, bool) {
	var c *customerv1.Customer
	switch r := m.(type) {
	case *customerv1.GetCustomerResponse:
		c = r.GetCustomer()
	case *customerv1.CreateCustomerResponse:
		c = r.GetCustomer()
	case *customerv1.UpdateCustomerResponse:
		c = r.GetCustomer()
	case *customerv1.ListCustomersResponse:
		if out, ok := appendListJSON(dst, r); ok {
			return out, true
		}
		return dst, false
	default:
		return dst, false
	}
	out := append(dst, '{')
	if c != nil {
		var ok bool
		if out, ok = appendCustomerJSON(append(out, `"customer":`...), c); !ok {
			return dst, false
		}
	}
	return append(out, '}'), true
}

// appendListJSON appends a page; false means a value protojson would refuse.
func appendListJSON(out []byte, r *customerv1.ListCustomersResponse) ([]byte, bool) {
	out = append(out, '{')
	if len(r.Customers) > 0 {
		out = append(out, `"customers":[`...)
		for i, c := range r.Customers {
			if i > 0 {
				out = append(out, ',')
			}
			var ok bool
			if out, ok = appendCustomerJSON(out, c); !ok {
				return out, false
			}
		}
		out = append(out, ']')
	}
	ok := true
	if r.NextPageToken != "" {
		out, ok = appendField(out, "nextPageToken", r.NextPageToken)
	}
	if r.TotalSize != 0 {
		out = strconv.AppendInt(appendName(out, "totalSize"), int64(r.TotalSize), 10)
	}
	return append(out, '}'), ok
}

// appendCustomerJSON appends one Customer object (a nil one as protojson
// writes an empty message).
func appendCustomerJSON(out []byte, c *customerv1.Customer) ([]byte, bool) {
	out = append(out, '{')
	ok := true
	if c.GetId() != 0 {
		out = append(strconv.AppendInt(append(appendName(out, "id"), '"'), c.GetId(), 10), '"')
	}
	fields := [...]struct {
		name  string
		value string
		set   bool
	}{
		{"name", c.GetName(), c.GetName() != ""},
		{"email", c.GetEmail(), c.GetEmail() != ""},
		{"phone", c.GetPhone(), c.Phone != nil},
		{"address", c.GetAddress(), c.Address != nil},
	}
	for _, f := range fields {
		if f.set && ok {
			out, ok = appendField(out, f.name, f.value)
		}
	}
	for _, t := range [...]struct {
		name string
		ts   *timestamppb.Timestamp
	}{{"createTime", c.GetCreateTime()}, {"updateTime", c.GetUpdateTime()}} {
		if t.ts != nil && ok {
			out, ok = appendTimestamp(appendName(out, t.name), t.ts)
		}
	}
	if c.GetEtag() != "" && ok {
		out, ok = appendField(out, "etag", c.GetEtag())
	}
	return append(out, '}'), ok
}

// appendName appends a member's name and colon, after a comma unless it is
// the object's first member.
func appendName(out []byte, name string) []byte {
	if out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	return append(append(append(out, '"'), name...), `":`...)
}

func appendField(out []byte, name, value string) ([]byte, bool) {
	return jsonstr.Append(appendName(out, name), value)
}

// The range of a Timestamp protojson accepts: years 1 to 9999.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// appendDigits appends n, which is not negative and has at most width
// digits, as exactly width decimal digits.
func appendDigits(out []byte, n, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		out = append(out, 0)
	}
	for i := len(out) - 1; width > 0; i, width = i-1, width-1 {
		out[i] = byte('0' + n%10)
		n /= 10
	}
	return out
}

// appendTimestamp appends ts in RFC 3339, in UTC, with 0, 3, 6 or 9
// fractional digits, as protojson does.
func appendTimestamp(out []byte, ts *timestamppb.Timestamp) ([]byte, bool) {
	secs, nanos := ts.GetSeconds(), ts.GetNanos()
	if secs < minTimestampSeconds || secs > maxTimestampSeconds || nanos < 0 || nanos > 999_999_999 {
		return out, false
	}
	t := time.Unix(secs, 0).UTC()
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	out = append(out, '"')
	out = appendDigits(out, year, 4)
	out = appendDigits(append(out, '-'), int(month), 2)
	out = appendDigits(append(out, '-'), day, 2)
	out = appendDigits(append(out, 'T'), hour, 2)
	out = appendDigits(append(out, ':'), minute, 2)
	out = appendDigits(append(out, ':'), second, 2)
	if nanos != 0 {
		// protojson writes 3, 6 or 9 digits: the fewest that hold nanos.
		digits := 9
		for digits > 3 && nanos%1000 == 0 {
			nanos /= 1000
			digits -= 3
		}
		out = appendDigits(append(out, '.'), int(nanos), digits)
	}
	return append(out, `Z"`...), true
}
