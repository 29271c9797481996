package rpc

import (
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// readCompactJSON reads data into m, which must be empty, without
// protojson when data is a request in the compact shape clients send most:
// an object without white space whose keys are fields of m (by JSON or proto
// name, each once), whose strings hold no escapes or control characters
// and are valid UTF-8, whose integers are canonical non-negative decimal
// digits (quoted or not), whose booleans are true or false, and whose
// objects are messages of the same shape or a FieldMask of lower-case
// paths. It reports false for anything else, leaving m in an unspecified
// state: the caller resets m and lets protojson read data (or refuse it).
// What it accepts, protojson reads into the same message (jsonin_test.go).
func readCompactJSON(data []byte, m protoreflect.Message) bool {
	d := compactDecoder{data: data}
	return d.object(m) && d.pos == len(data)
}

// compactDecoder reads the shape readCompactJSON accepts.
type compactDecoder struct {
	data []byte
	pos  int
}

// next consumes c if it comes next.
func (d *compactDecoder) next(c byte) bool {
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// object reads an object into m.
func (d *compactDecoder) object(m protoreflect.Message) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	fields := m.Descriptor().Fields()
	var seen uint64 // the field numbers read so far
	for {
		key, ok := d.str()
		if !ok {
			return false
		}
		fd := fields.ByJSONName(key)
		if fd == nil {
			fd = fields.ByTextName(key)
		}
		// Unknown fields, and those of a kind the shape leaves out, go to
		// protojson; so does a field named twice, which it refuses.
		if fd == nil || fd.IsList() || fd.IsMap() || fd.Number() >= 64 ||
			(fd.ContainingOneof() != nil && !fd.ContainingOneof().IsSynthetic()) {
			return false
		}
		if bit := uint64(1) << fd.Number(); seen&bit == 0 {
			seen |= bit
		} else {
			return false
		}
		if !d.next(':') || !d.value(m, fd) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// value reads the value of field fd of m and sets it.
func (d *compactDecoder) value(m protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	switch fd.Kind() {
	case protoreflect.StringKind:
		s, ok := d.str()
		if !ok {
			return false
		}
		m.Set(fd, protoreflect.ValueOfString(s))
	case protoreflect.Int64Kind:
		n, ok := d.digits(1<<63 - 1)
		if !ok {
			return false
		}
		m.Set(fd, protoreflect.ValueOfInt64(n))
	case protoreflect.Int32Kind:
		n, ok := d.digits(1<<31 - 1)
		if !ok {
			return false
		}
		m.Set(fd, protoreflect.ValueOfInt32(int32(n)))
	case protoreflect.BoolKind:
		switch {
		case d.literal("true"):
			m.Set(fd, protoreflect.ValueOfBool(true))
		case d.literal("false"):
			m.Set(fd, protoreflect.ValueOfBool(false))
		default:
			return false
		}
	case protoreflect.MessageKind:
		md := fd.Message()
		if md.FullName() == "google.protobuf.FieldMask" {
			return d.fieldMask(m, fd)
		}
		if md.ParentFile().Package() == "google.protobuf" {
			return false // the well-known types have JSON forms of their own
		}
		return d.object(m.Mutable(fd).Message())
	default:
		return false
	}
	return true
}

// str reads a string without escapes or control characters that is valid
// UTF-8.
func (d *compactDecoder) str() (string, bool) {
	if !d.next('"') {
		return "", false
	}
	start := d.pos
	for i := start; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			s := d.data[start:i]
			if !utf8.Valid(s) {
				return "", false
			}
			d.pos = i + 1
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// literal consumes word if it comes next.
func (d *compactDecoder) literal(word string) bool {
	if len(d.data)-d.pos >= len(word) && string(d.data[d.pos:d.pos+len(word)]) == word {
		d.pos += len(word)
		return true
	}
	return false
}

// digits reads a canonical non-negative decimal integer of at most limit,
// bare or quoted.
func (d *compactDecoder) digits(limit int64) (int64, bool) {
	quoted := d.next('"')
	start := d.pos
	var n int64
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		digit := int64(d.data[d.pos] - '0')
		if n > (limit-digit)/10 {
			return 0, false
		}
		n = n*10 + digit
		d.pos++
	}
	if d.pos == start || (d.data[start] == '0' && d.pos-start > 1) {
		return 0, false
	}
	if quoted && !d.next('"') {
		return 0, false
	}
	return n, true
}

// fieldMask reads a FieldMask in its JSON form, a string of
// comma-separated paths, taking only paths of lower-case letters (whose
// camelCase and snake_case spellings are the same).
func (d *compactDecoder) fieldMask(m protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	s, ok := d.str()
	if !ok || s == "" {
		return false
	}
	mask := &fieldmaskpb.FieldMask{}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i == start {
				return false
			}
			mask.Paths = append(mask.Paths, s[start:i])
			start = i + 1
			continue
		}
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	m.Set(fd, protoreflect.ValueOfMessage(mask.ProtoReflect()))
	return true
}
