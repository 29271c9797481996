package rpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// codecs returns the service's protobuf binary and JSON codecs as handler
// options. They marshal as connect-go's own do, but describe a request
// that cannot be decoded in the request's own terms (the message, the
// field, what it expects) instead of naming Go types
// ("unmarshal into *customerv1.ListCustomersRequest: proto: ...").
func codecs() []connect.HandlerOption {
	return []connect.HandlerOption{
		connect.WithCodec(protoCodec{}),
		connect.WithCodec(jsonCodec{name: "json"}),
		connect.WithCodec(jsonCodec{name: "json; charset=utf-8"}),
	}
}

// errNotProto is what a codec says of a value that is no protobuf message:
// a programming error, never a client's.
func errNotProto(v any) error { return fmt.Errorf("%T is not a protobuf message", v) }

// protoCodec is the protobuf binary codec.
type protoCodec struct{}

func (protoCodec) Name() string   { return "proto" }
func (protoCodec) IsBinary() bool { return true }

func (c protoCodec) Marshal(v any) ([]byte, error) { return c.MarshalAppend(nil, v) }

func (protoCodec) MarshalAppend(dst []byte, v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, errNotProto(v)
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, m)
}

func (protoCodec) MarshalStable(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, errNotProto(v)
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

func (protoCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return errNotProto(v)
	}
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("the request is not a valid %s in protobuf binary form", m.ProtoReflect().Descriptor().Name())
	}
	return nil
}

// jsonCodec is the protobuf JSON codec, under one of its two names.
type jsonCodec struct{ name string }

func (c jsonCodec) Name() string { return c.name }
func (jsonCodec) IsBinary() bool { return false }

func (c jsonCodec) Marshal(v any) ([]byte, error) { return c.MarshalAppend(nil, v) }

func (jsonCodec) MarshalAppend(dst []byte, v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, errNotProto(v)
	}
	if out, ok := appendResponseJSON(dst, m); ok {
		return out, nil
	}
	return protojson.MarshalOptions{}.MarshalAppend(dst, m)
}

func (c jsonCodec) MarshalStable(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, errNotProto(v)
	}
	return appendStableJSON(nil, m)
}

// appendStableJSON appends m in JSON as MarshalAppend writes it, but with
// the whitespace protojson varies on purpose from build to build taken
// out: the same message is the same bytes in every build.
func appendStableJSON(dst []byte, m proto.Message) ([]byte, error) {
	if out, ok := appendResponseJSON(dst, m); ok {
		return out, nil
	}
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(dst)
	if err := json.Compact(out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func (jsonCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return errNotProto(v)
	}
	proto.Reset(m)
	if readCompactJSON(data, m.ProtoReflect()) {
		return nil
	}
	// protojson resets m itself, dropping what the compact reader left.
	name := m.ProtoReflect().Descriptor().Name()
	if len(data) == 0 {
		return fmt.Errorf("the request is empty; send a JSON object (a %s)", name)
	}
	// Unknown fields are skipped, so that clients of a newer schema work.
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
		return fmt.Errorf("the request is not a valid %s in JSON: %s", name, describeJSONError(err))
	}
	return nil
}

// jsonErrorPosition matches the position protojson puts in its errors.
var jsonErrorPosition = regexp.MustCompile(`\(line (\d+):(\d+)\)`)

// jsonFieldError matches protojson's "invalid value for TYPE field NAME: VALUE".
var jsonFieldError = regexp.MustCompile(`invalid value for (\w+) (?:field|type)(?: (\w+))?(?:: (.*))?$`)

// jsonExpects says what a JSON value of a protobuf kind looks like.
var jsonExpects = map[string]string{
	"int32": "a 32-bit integer", "sint32": "a 32-bit integer", "sfixed32": "a 32-bit integer",
	"uint32": "a non-negative 32-bit integer", "fixed32": "a non-negative 32-bit integer",
	"int64": "a 64-bit integer (a number or a string of digits)", "sint64": "a 64-bit integer (a number or a string of digits)",
	"sfixed64": "a 64-bit integer (a number or a string of digits)",
	"uint64":   "a non-negative 64-bit integer", "fixed64": "a non-negative 64-bit integer",
	"float": "a number", "double": "a number", "bool": "true or false", "string": "a string",
	"bytes": "base64 text", "enum": "one of the enum's value names", "message": "a JSON object",
}

// describeJSONError rewords a protojson error for a client. It says which
// field, what it expects and where in the body, without the library's prefix.
func describeJSONError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "proto:")
	msg = strings.ReplaceAll(msg, "\u00a0", " ") // protojson pads with a no-break space
	where := ""
	if m := jsonErrorPosition.FindStringSubmatch(msg); m != nil {
		where = fmt.Sprintf(" (line %s, column %s)", m[1], m[2])
		msg = strings.Replace(msg, m[0], "", 1)
	}
	msg = strings.Join(strings.Fields(msg), " ")
	msg = strings.ReplaceAll(strings.TrimPrefix(msg, ": "), " : ", ": ")
	if m := jsonFieldError.FindStringSubmatch(msg); m != nil {
		kind, field, value := m[1], m[2], m[3]
		expects := jsonExpects[kind]
		if expects == "" {
			expects = "a " + kind
		}
		if field == "" {
			msg = "a value must be " + expects
		} else {
			msg = fmt.Sprintf("field %s must be %s", field, expects)
		}
		if value != "" {
			msg += ", not " + Clip(value)
		}
	}
	return Clip(msg) + where
}
