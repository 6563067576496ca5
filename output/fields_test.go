package output

import (
	"bytes"
	"encoding/json"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/tracer"
)

// flatten maps a decoded JSON object to its leaves by dotted path, as the
// registry names them. A list of objects is a leaf (its elements) and its
// elements' fields are lists under its path: "sender.ancestry.comm" is
// the list of the ancestors' comms.
func flatten(prefix string, v any, out map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			flatten(join(prefix, k), e, out)
		}
	case []any:
		out[prefix] = v
		if len(v) == 0 {
			return
		}
		if _, isObj := v[0].(map[string]any); !isObj {
			return
		}
		keys := map[string]bool{}
		for _, e := range v {
			if o, ok := e.(map[string]any); ok {
				for k := range o {
					keys[k] = true
				}
			}
		}
		for k := range keys {
			col := make([]any, len(v))
			for i, e := range v {
				if o, ok := e.(map[string]any); ok {
					col[i] = o[k]
				}
			}
			out[join(prefix, k)] = col
		}
	default:
		out[prefix] = v
	}
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// decodeFlat decodes one JSON line, keeping numbers as written.
func decodeFlat(t *testing.T, line []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, line)
	}
	flat := map[string]any{}
	flatten("", obj, flat)
	return flat
}

// numericText are the String fields written as a number when they have
// no name (si_code).
var numericText = map[string]bool{"code": true, "reraise_of.code": true}

// checkValue compares what the JSON says of f with what f's getter reads.
func checkValue(t *testing.T, name string, f *fields.Field, ev *tracer.Event, v any) {
	t.Helper()
	bad := func(want any) { t.Errorf("%s: %s = %#v in the JSON, the registry reads %#v", name, f.Name, v, want) }
	jsonType := func(x any) string {
		switch x.(type) {
		case json.Number:
			return "number"
		case string:
			return "string"
		case bool:
			return "boolean"
		case []any:
			return "array"
		case map[string]any:
			return "object"
		}
		return "null"
	}
	if got, want := jsonType(v), f.Type.JSONType(); got != want && !(numericText[f.Name] && got == "number") {
		t.Errorf("%s: %s is a JSON %s, the registry says %s (%s)", name, f.Name, got, want, f.TypeString())
		return
	}
	// The fixtures name system calls by amd64's numbers (see
	// amd64Syscalls); the registry by this machine's.
	if strings.HasSuffix(f.Name, "syscall.name") && runtime.GOARCH != "amd64" {
		return
	}
	scalar := func(typ fields.Type, v any, num func() int64, unum func() uint64, b func() bool, str func() string) {
		switch typ {
		case fields.Int, fields.Duration:
			if n := num(); v.(json.Number).String() != strconv.FormatInt(n, 10) {
				bad(n)
			}
		case fields.Uint:
			if n := unum(); v.(json.Number).String() != strconv.FormatUint(n, 10) {
				bad(n)
			}
		case fields.Bool:
			if x := b(); v.(bool) != x {
				bad(x)
			}
		case fields.String:
			want := validUTF8(str())
			var got string
			switch x := v.(type) {
			case json.Number:
				got = x.String()
			case string:
				got = x
			default:
				t.Errorf("%s: %s is %T", name, f.Name, v)
			}
			if got != want {
				bad(want)
			}
			if f.Values != nil && !slices.Contains(f.Values, got) {
				t.Errorf("%s: %s = %q, not one of the registry's %q", name, f.Name, got, f.Values)
			}
		}
	}
	switch f.Type {
	case fields.Time:
		tm, err := time.Parse(time.RFC3339Nano, v.(string))
		if want := f.Time(ev); err != nil || !tm.Equal(want) {
			bad(want)
		}
		if s := v.(string); s != f.Time(ev).Format(fields.TimeLayout) {
			t.Errorf("%s: %s = %q, not in TimeLayout", name, f.Name, s)
		}
	case fields.List:
		list := v.([]any)
		if n := f.Len(ev); len(list) != n {
			bad(n)
			return
		}
		for i, e := range list {
			if f.Elem == fields.Object {
				if _, ok := e.(map[string]any); !ok {
					t.Errorf("%s: %s[%d] is %T, want an object", name, f.Name, i, e)
				}
				continue
			}
			if got, want := jsonType(e), f.Elem.JSONType(); got != want {
				t.Errorf("%s: %s[%d] is a JSON %s, want %s", name, f.Name, i, got, want)
				continue
			}
			scalar(f.Elem, e, nil,
				func() uint64 { return f.UintAt(ev, i) }, nil,
				func() string { return string(f.StrAt(nil, ev, i)) })
		}
	default:
		scalar(f.Type, v,
			func() int64 { return f.Int(ev) },
			func() uint64 { return f.Uint(ev) },
			func() bool { return f.Bool(ev) },
			func() string { return string(f.Str(nil, ev)) })
	}
}

// TestJSONMatchesRegistry: for every fixture, every path the JSON appender
// writes is a registry field for that kind, every registry field the event
// carries (Field.On) is written, and with the value the field's getter
// reads. Both renderers are checked (the cached one with DetailIDs).
func TestJSONMatchesRegistry(t *testing.T) {
	seen := map[string]bool{}
	r := NewJSON()
	for _, f := range withDetailID(fixtures()) {
		for _, line := range [][]byte{AppendJSON(nil, &f.ev), r.AppendRow(nil, &f.ev)} {
			flat := decodeFlat(t, line)
			for path := range flat {
				// A count's keys are named by the counted fields
				// themselves: each must be one, and a scalar.
				if key, ok := strings.CutPrefix(path, "keys."); ok && f.ev.Type == tracer.TypeCount {
					if kf := fields.Lookup(key); kf == nil || kf.Type == fields.List || kf.Type == fields.Time {
						t.Errorf("%s: keys has %s, which is no field a count can be by", f.name, key)
					}
					continue
				}
				fd := fields.Lookup(path)
				switch {
				case fd == nil:
					t.Errorf("%s: the JSON has %s, which the registry does not know", f.name, path)
				case !fd.Kinds.Has(f.ev.Type):
					t.Errorf("%s: the JSON has %s, which the registry gives %s events only", f.name, path, fd.Kinds)
				case !fd.On(&f.ev):
					t.Errorf("%s: the JSON has %s, but the registry says the event does not carry it", f.name, path)
				}
			}
			for _, fd := range fields.Of(f.ev.Type) {
				v, written := flat[fd.Name]
				if on := fd.On(&f.ev); on != written {
					t.Errorf("%s: the registry says %s is on the event: %v; the JSON has it: %v", f.name, fd.Name, on, written)
					continue
				}
				if written {
					seen[fd.Name] = true
					checkValue(t, f.name, fd, &f.ev, v)
				}
			}
		}
	}
	// The fixtures exercise every field of the registry.
	var missing []string
	for _, fd := range fields.All() {
		if !seen[fd.Name] {
			missing = append(missing, fd.Name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no fixture writes these registry fields: %s", strings.Join(missing, ", "))
	}
}

// TestRegistryGettersZeroAllocs: reading every field of every fixture,
// as a filter, template or count key compiled over the registry would,
// allocates nothing.
func TestRegistryGettersZeroAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	for _, f := range fixtures() {
		ev := f.ev
		fs := fields.Of(ev.Type)
		if n := testing.AllocsPerRun(20, func() {
			for _, fd := range fs {
				if fd.On(&ev) {
					buf = fd.AppendText(buf[:0], &ev)
				}
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations", f.name, n)
		}
	}
}
