// Package fields is the one description of what an event says: every
// field of the JSON schema, by its dotted JSON path (`signal.name`,
// `sender.comm`, `sender.ancestry.comm`), with its type, a one-line doc,
// the event kinds that carry it, whether the kernel can decide it, and how
// to read it from a tracer.Event.
//
// Filters, templates, count keys, `sigtrace fields` and the README's field
// table are built from it, and a test holds the hand-written JSON
// appender (package output) to it. Reading a field does not allocate: the
// getters are typed (int64, uint64, bool, time.Time) and a string is
// appended to a caller's buffer, so a filter or template compiled over
// them once costs no garbage per event.
package fields

import (
	"strconv"
	"strings"
	"time"

	"github.com/sigtrace/sigtrace/tracer"
)

// TimeLayout is how times are written: RFC 3339 with a fixed nanosecond
// fraction, so lines of a recording sort and align.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Type is what a field's value is.
type Type uint8

const (
	Int      Type = iota + 1 // a signed integer: Field.Int
	Uint                     // an unsigned integer: Field.Uint
	String                   // text: Field.Str
	Bool                     // Field.Bool
	Duration                 // nanoseconds (an integer in JSON, the name ends in _ns): Field.Int
	Time                     // an instant (RFC 3339 with ns in JSON): Field.Time
	List                     // a list of Elem: Field.Len and Field.UintAt or Field.StrAt
	Object                   // only as the Elem of a list whose elements' fields have their own entries
)

var typeNames = [...]string{"", "int", "uint", "string", "bool", "duration", "time", "list", "object"}

func (t Type) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return "unknown"
}

// JSONType is the JSON type a value of t is written as.
func (t Type) JSONType() string {
	switch t {
	case Int, Uint, Duration:
		return "number"
	case String, Time:
		return "string"
	case Bool:
		return "boolean"
	case List:
		return "array"
	case Object:
		return "object"
	}
	return "unknown"
}

// EventKinds are the event types the tracer makes, in the order the
// listing and the docs give them.
var EventKinds = []tracer.EventType{tracer.TypeGenerate, tracer.TypeDeliver, tracer.TypeExit, tracer.TypePending, tracer.TypeLost, tracer.TypeCount, tracer.TypeGap, tracer.TypeDisposition}

// Kinds is a set of event types, one bit per tracer.EventType.
type Kinds uint32

// KindsOf returns the set of ts.
func KindsOf(ts ...tracer.EventType) Kinds {
	var k Kinds
	for _, t := range ts {
		k |= 1 << t
	}
	return k
}

// AllKinds is every event type.
var AllKinds = KindsOf(EventKinds...)

// Has reports whether t is in k.
func (k Kinds) Has(t tracer.EventType) bool { return t < 32 && k&(1<<t) != 0 }

// String lists the kinds, in EventKinds order: "generate,deliver", or
// "all".
func (k Kinds) String() string {
	if k == AllKinds {
		return "all"
	}
	var names []string
	for _, t := range EventKinds {
		if k.Has(t) {
			names = append(names, t.String())
		}
	}
	return strings.Join(names, ",")
}

// Field is one leaf of the JSON schema.
type Field struct {
	Name string // dotted JSON path: "target.comm"; a list's elements' fields continue its path ("sender.ancestry.pid")
	Type Type
	Elem Type // a List's element type
	Doc  string
	// Kinds are the event types that may carry the field.
	Kinds Kinds
	// Kernel: the BPF programs' filters can decide on it before they
	// reserve a record (type, signal, sender and target pid and comm),
	// so a filter on it is pushed down into the kernel (package filter).
	Kernel bool
	// Values are the values a String field (or the elements of a List of
	// String) can take, when that is a fixed set.
	Values []string

	// Present reports whether an event of Kinds carries the field (its
	// JSON has the key). nil: every event of Kinds does.
	Present func(*tracer.Event) bool

	// The getter for Type (for a List: Len, and UintAt or StrAt for
	// Elem). None allocates.
	Int  func(*tracer.Event) int64  // Int, Duration
	Uint func(*tracer.Event) uint64 // Uint
	Bool func(*tracer.Event) bool
	// Str appends the text (unquoted, as the JSON string decodes) to dst.
	Str    func(dst []byte, ev *tracer.Event) []byte
	Time   func(*tracer.Event) time.Time
	Len    func(*tracer.Event) int
	UintAt func(ev *tracer.Event, i int) uint64
	StrAt  func(dst []byte, ev *tracer.Event, i int) []byte
}

// On reports whether ev carries the field.
func (f *Field) On(ev *tracer.Event) bool {
	return f.Kinds.Has(ev.Type) && (f.Present == nil || f.Present(ev))
}

// TypeString is the type as listings give it: "uint", "list of string".
func (f *Field) TypeString() string {
	if f.Type == List {
		return "list of " + f.Elem.String()
	}
	return f.Type.String()
}

// AppendText appends the value as text: integers in decimal (a duration
// in nanoseconds), true or false, a time in TimeLayout, a list's elements
// separated by commas (a list of objects: its length). It does not check
// On: a field an event does not carry reads as its zero value.
func (f *Field) AppendText(dst []byte, ev *tracer.Event) []byte {
	switch f.Type {
	case Int, Duration:
		return strconv.AppendInt(dst, f.Int(ev), 10)
	case Uint:
		return strconv.AppendUint(dst, f.Uint(ev), 10)
	case String:
		return f.Str(dst, ev)
	case Bool:
		return strconv.AppendBool(dst, f.Bool(ev))
	case Time:
		return f.Time(ev).AppendFormat(dst, TimeLayout)
	case List:
		n := f.Len(ev)
		switch f.Elem {
		case Uint:
			for i := range n {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = strconv.AppendUint(dst, f.UintAt(ev, i), 10)
			}
		case String:
			for i := range n {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = f.StrAt(dst, ev, i)
			}
		default:
			dst = strconv.AppendInt(dst, int64(n), 10)
		}
	}
	return dst
}

// All returns every field, in the order the JSON writes them. The slice
// is shared: do not modify it.
func All() []Field { return registry }

// Aliases are short names for fields, in filters, templates and count
// keys: the SPEC's `sig` for signal.num.
var Aliases = map[string]string{"sig": "signal.num"}

// Lookup returns the field named name (its dotted JSON path, or an
// alias), or nil.
func Lookup(name string) *Field {
	if full, ok := Aliases[name]; ok {
		name = full
	}
	if i, ok := byName[name]; ok {
		return &registry[i]
	}
	return nil
}

// Of returns the fields events of type t may carry, in All's order.
func Of(t tracer.EventType) []*Field {
	var out []*Field
	for i := range registry {
		if registry[i].Kinds.Has(t) {
			out = append(out, &registry[i])
		}
	}
	return out
}

var byName = func() map[string]int {
	m := make(map[string]int, len(registry))
	for i, f := range registry {
		if _, dup := m[f.Name]; dup {
			panic("fields: " + f.Name + " declared twice")
		}
		m[f.Name] = i
	}
	return m
}()
