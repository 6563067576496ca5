// Package agg is `sigtrace trace --count-by FIELD[,FIELD] --hist FIELD`:
// events counted by the values of registry fields, with a log2 histogram
// of a numeric field per key, printed as bpftrace prints its maps or as
// the SPEC's count records.
//
// Counting allocates nothing once a key has been seen: the key's values
// are appended to one reused buffer in a fixed encoding (see KeyBuilder)
// and looked up in a map by that encoding (Go's m[string(b)] does not
// allocate), which compares whole keys, so there are no collisions to
// check. A source that already has counts (the kernel, counting in a BPF
// map) feeds the same aggregator with AddKey and AddBucket and the same
// encoding, and the same printers show them.
package agg

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tracer"
)

// Buckets is the number of log2 buckets: [0], [1], [2, 4), ...
// [2^63, 2^64).
const Buckets = 65

// Aggregator counts events by key. Its methods are safe for concurrent
// use (events come from the reader, the printing from a ticker).
type Aggregator struct {
	keys []*fields.Field
	hist *fields.Field

	mu      sync.Mutex
	entries map[string]*entry
	kb      KeyBuilder
	tmp     []byte

	// What AppendJSON reuses: the count event it writes a row as, and
	// its keys' values.
	countEv tracer.Event
	vals    []byte
	// like is the event a summarised count stands for (Renderer).
	like tracer.Event
}

// entry is one key's counts since the last Reset.
type entry struct {
	key     string
	count   uint64
	neg     uint64 // hist: values below 0
	buckets [Buckets]uint64
}

// New returns an aggregator counting by keys (none: one total) and,
// with hist, a histogram of that field per key.
func New(keys []*fields.Field, hist *fields.Field) *Aggregator {
	return &Aggregator{keys: keys, hist: hist, entries: map[string]*entry{}}
}

// Keys are the fields counted by; Hist the histogram's, or nil.
func (a *Aggregator) Keys() []*fields.Field { return a.keys }
func (a *Aggregator) Hist() *fields.Field   { return a.hist }

// ParseKeys reads --count-by: comma-separated field names (or aliases).
// A key must be a scalar every event can be grouped by: a number, text
// or a bool; not a time (every event's differs) nor a list.
func ParseKeys(s string) ([]*fields.Field, error) {
	var out []*fields.Field
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("--count-by %q: an empty field name (e.g. --count-by sender.comm,signal.name)", s)
		}
		f := fields.Lookup(name)
		if f == nil {
			return nil, fmt.Errorf("--count-by: unknown field %q%s (sigtrace fields lists them)", name, didYouMean(name))
		}
		switch f.Type {
		case fields.Int, fields.Uint, fields.String, fields.Bool, fields.Duration:
		case fields.Time:
			return nil, fmt.Errorf("--count-by %s: a time differs for every event; count by something events share (sigtrace fields)", name)
		default:
			return nil, fmt.Errorf("--count-by %s: a %s cannot be a key; count by one value (a number, text or bool), e.g. sender.comm", name, f.TypeString())
		}
		if slices.Contains(out, f) {
			return nil, fmt.Errorf("--count-by: %s given twice", f.Name)
		}
		out = append(out, f)
	}
	return out, nil
}

// ParseHist reads --hist: one numeric field (latency_ns, pending_ns, a
// pid, a signal number).
func ParseHist(name string) (*fields.Field, error) {
	name = strings.TrimSpace(name)
	f := fields.Lookup(name)
	if f == nil {
		return nil, fmt.Errorf("--hist: unknown field %q%s (sigtrace fields lists them)", name, didYouMean(name))
	}
	switch f.Type {
	case fields.Int, fields.Uint, fields.Duration:
		return f, nil
	}
	return nil, fmt.Errorf("--hist %s: a %s; a histogram needs a number, e.g. latency_ns (deliver) or pending_ns (pending)", name, f.TypeString())
}

func didYouMean(name string) string {
	c := fields.Closest(name, 4)
	if len(c) == 0 {
		return ""
	}
	return "; did you mean " + strings.Join(c, ", ") + "?"
}

// Add counts ev. With a histogram, an event that does not carry the
// histogram's field (a deliver without latency_ns, another kind) is not
// counted at all.
func (a *Aggregator) Add(ev *tracer.Event) { a.AddN(ev, 1) }

// AddN counts n events like ev: counts made elsewhere (the kernel's, by
// fields an event stands for) keyed by the same rule as Add's.
func (a *Aggregator) AddN(ev *tracer.Event, n uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hist != nil && !a.hist.On(ev) {
		return
	}
	a.kb.Reset()
	for _, f := range a.keys {
		a.appendKey(f, ev)
	}
	e := a.lookup(a.kb.Bytes())
	e.count += n
	if a.hist != nil {
		if v, neg := value(a.hist, ev); neg {
			e.neg += n
		} else {
			e.buckets[Bucket(v)] += n
		}
	}
}

func (a *Aggregator) appendKey(f *fields.Field, ev *tracer.Event) {
	if !f.On(ev) {
		a.kb.Absent()
		return
	}
	switch f.Type {
	case fields.Int, fields.Duration:
		a.kb.Int(f.Int(ev))
	case fields.Uint:
		a.kb.Uint(f.Uint(ev))
	case fields.Bool:
		a.kb.Bool(f.Bool(ev))
	case fields.String:
		a.tmp = f.Str(a.tmp[:0], ev)
		a.kb.Str(a.tmp)
	}
}

// value is a numeric field's value, as a magnitude and whether it is
// negative.
func value(f *fields.Field, ev *tracer.Event) (uint64, bool) {
	if f.Type == fields.Uint {
		return f.Uint(ev), false
	}
	v := f.Int(ev)
	if v < 0 {
		return uint64(-v), true
	}
	return uint64(v), false
}

// Bucket is v's log2 bucket: 0 for 0, 1 for 1, b for [2^(b-1), 2^b).
func Bucket(v uint64) int { return bits.Len64(v) }

// lookup finds or makes key's entry; a.mu is held.
func (a *Aggregator) lookup(key []byte) *entry {
	if e, ok := a.entries[string(key)]; ok {
		return e
	}
	e := &entry{key: string(key)}
	a.entries[e.key] = e
	return e
}

// AddKey adds n events under key, encoded as KeyBuilder encodes this
// aggregator's key fields: counts made elsewhere (a BPF map).
func (a *Aggregator) AddKey(key []byte, n uint64) error {
	if err := a.checkKey(key); err != nil {
		return err
	}
	a.mu.Lock()
	a.lookup(key).count += n
	a.mu.Unlock()
	return nil
}

// AddBucket adds n values in log2 bucket b (see Bucket) of key's
// histogram, and n to its count.
func (a *Aggregator) AddBucket(key []byte, b int, n uint64) error {
	if a.hist == nil || b < 0 || b >= Buckets {
		return fmt.Errorf("agg: bucket %d without a histogram or out of range", b)
	}
	if err := a.checkKey(key); err != nil {
		return err
	}
	a.mu.Lock()
	e := a.lookup(key)
	e.count += n
	e.buckets[b] += n
	a.mu.Unlock()
	return nil
}

func (a *Aggregator) checkKey(key []byte) error {
	if _, err := decodeKey(key, a.keys); err != nil {
		return err
	}
	return nil
}

// Row is one key's counts, for printing.
type Row struct {
	Values  []Value // one per key field
	Count   uint64
	Neg     uint64
	Buckets [Buckets]uint64
}

// Snapshot returns the rows counted since the last reset, by count,
// largest first (ties in key order), at most top of them (0: all), and
// with reset starts the next interval: keys not seen in the interval
// just ended are forgotten (so memory follows the keys in use), those
// seen keep their entries and count from zero without allocating.
func (a *Aggregator) Snapshot(top int, reset bool) []Row {
	a.mu.Lock()
	var es []*entry
	for k, e := range a.entries {
		if e.count == 0 {
			if reset {
				delete(a.entries, k)
			}
			continue
		}
		es = append(es, e)
	}
	slices.SortFunc(es, func(x, y *entry) int {
		if x.count != y.count {
			if x.count > y.count {
				return -1
			}
			return 1
		}
		return strings.Compare(x.key, y.key)
	})
	if top > 0 && len(es) > top {
		es = es[:top]
	}
	rows := make([]Row, 0, len(es))
	for _, e := range es {
		vals, _ := decodeKey([]byte(e.key), a.keys)
		rows = append(rows, Row{Values: vals, Count: e.count, Neg: e.neg, Buckets: e.buckets})
	}
	if reset {
		for _, e := range a.entries {
			e.count, e.neg, e.buckets = 0, 0, [Buckets]uint64{}
		}
	}
	a.mu.Unlock()
	return rows
}

// Value is one key field's value in a row.
type Value struct {
	Present bool
	Type    fields.Type
	Int     int64
	Uint    uint64
	Bool    bool
	Str     string
}

// KeyBuilder encodes a key: for each key field in order, a 0 byte when
// the event does not carry it, else a 1 byte and the value: integers as
// 8 bytes big-endian, a bool as one byte, text as its length (uvarint)
// and bytes.
type KeyBuilder struct{ b []byte }

func (k *KeyBuilder) Reset()        { k.b = k.b[:0] }
func (k *KeyBuilder) Bytes() []byte { return k.b }
func (k *KeyBuilder) Absent()       { k.b = append(k.b, 0) }
func (k *KeyBuilder) Int(v int64)   { k.b = binary.BigEndian.AppendUint64(append(k.b, 1), uint64(v)) }
func (k *KeyBuilder) Uint(v uint64) { k.b = binary.BigEndian.AppendUint64(append(k.b, 1), v) }
func (k *KeyBuilder) Bool(v bool) {
	c := byte(0)
	if v {
		c = 1
	}
	k.b = append(k.b, 1, c)
}
func (k *KeyBuilder) Str(s []byte) {
	k.b = binary.AppendUvarint(append(k.b, 1), uint64(len(s)))
	k.b = append(k.b, s...)
}

func decodeKey(b []byte, keys []*fields.Field) ([]Value, error) {
	vals := make([]Value, len(keys))
	bad := fmt.Errorf("agg: a key that is not an encoding of %d fields", len(keys))
	for i, f := range keys {
		if len(b) == 0 {
			return nil, bad
		}
		present := b[0] == 1
		b = b[1:]
		vals[i] = Value{Present: present, Type: f.Type}
		if !present {
			continue
		}
		switch f.Type {
		case fields.Int, fields.Duration, fields.Uint:
			if len(b) < 8 {
				return nil, bad
			}
			u := binary.BigEndian.Uint64(b)
			vals[i].Uint, vals[i].Int = u, int64(u)
			b = b[8:]
		case fields.Bool:
			if len(b) < 1 {
				return nil, bad
			}
			vals[i].Bool = b[0] == 1
			b = b[1:]
		case fields.String:
			n, w := binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < n {
				return nil, bad
			}
			vals[i].Str = string(b[w : w+int(n)])
			b = b[w+int(n):]
		}
	}
	if len(b) != 0 {
		return nil, bad
	}
	return vals, nil
}

// Renderer counts the events a sink is given instead of writing them;
// lost records still go to Base, as they come (lost events are never
// silent).
type Renderer struct {
	A    *Aggregator
	Base output.Renderer
}

func (r Renderer) AppendHeader(b []byte) []byte { return b }

func (r Renderer) AppendRow(b []byte, ev *tracer.Event) []byte {
	switch ev.Type {
	case tracer.TypeLost, tracer.TypeGap:
		return r.Base.AppendRow(b, ev)
	case tracer.TypeCount:
		// Signals a recording (or trace's rate limit) summarised:
		// counted as the events they stand for, when the count says
		// what they were; else written as they are.
		if !ev.Count.Like(&r.A.like) {
			return r.Base.AppendRow(b, ev)
		}
		r.A.AddN(&r.A.like, ev.Count.N)
		return b
	}
	r.A.Add(ev)
	return b
}
