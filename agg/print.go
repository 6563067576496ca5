package agg

import (
	"strconv"
	"strings"
	"time"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tracer"
)

// barWidth is bpftrace's: the widest bar of a histogram.
const barWidth = 52

// Title is the line a table of counts starts with: what is counted, and
// the time when an interval ended (zero: at exit, no interval).
func (a *Aggregator) appendTitle(b []byte, end time.Time) []byte {
	if !end.IsZero() {
		b = end.AppendFormat(b, "15:04:05")
		b = append(b, ' ')
	}
	if a.hist != nil {
		b = append(b, "histogram of "...)
		b = append(b, a.hist.Name...)
		if len(a.keys) > 0 {
			b = append(b, " by "...)
		}
	} else {
		b = append(b, "count by "...)
	}
	b = append(b, a.keyNames(", ")...)
	return append(b, '\n')
}

func (a *Aggregator) keyNames(sep string) string {
	names := make([]string, len(a.keys))
	for i, f := range a.keys {
		names[i] = f.Name
	}
	return strings.Join(names, sep)
}

// AppendTable writes rows for people, as bpftrace prints a map: a title,
// then `@[k1, k2]: N` per key, largest first; with a histogram, for each
// key `@latency_ns[k1, k2]:` and its log2 buckets with bars. No rows:
// the title and "(no events)".
func (a *Aggregator) AppendTable(b []byte, rows []Row, end time.Time) []byte {
	b = a.appendTitle(b, end)
	if len(rows) == 0 {
		return append(b, "(no events)\n"...)
	}
	for _, r := range rows {
		if a.hist == nil {
			b = append(b, '@')
			b = appendTableKey(b, r.Values)
			b = append(b, ": "...)
			b = strconv.AppendUint(b, r.Count, 10)
			b = append(b, '\n')
			continue
		}
		b = append(b, '@')
		b = append(b, a.hist.Name...)
		if len(r.Values) > 0 {
			b = appendTableKey(b, r.Values)
		}
		b = append(b, ":\n"...)
		b = appendHist(b, &r)
		b = append(b, '\n')
	}
	return b
}

// appendTableKey writes [k1, k2]. Text goes through output's policy, and
// is quoted when it could pass for the key's own syntax (a comma, a
// bracket, a quote, a space, or nothing at all); a field the event did
// not carry is "-".
func appendTableKey(b []byte, vals []Value) []byte {
	if len(vals) == 0 {
		return b
	}
	b = append(b, '[')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendTableValue(b, v)
	}
	return append(b, ']')
}

func appendTableValue(b []byte, v Value) []byte {
	if !v.Present {
		return append(b, '-')
	}
	switch v.Type {
	case fields.Int, fields.Duration:
		return strconv.AppendInt(b, v.Int, 10)
	case fields.Uint:
		return strconv.AppendUint(b, v.Uint, 10)
	case fields.Bool:
		return strconv.AppendBool(b, v.Bool)
	}
	if v.Str == "" || v.Str == "-" || strings.ContainsAny(v.Str, ",[]\" ") {
		b = append(b, '"')
		b = output.AppendSafe(b, []byte(strings.ReplaceAll(v.Str, `"`, `\"`)))
		return append(b, '"')
	}
	return output.AppendSafe(b, []byte(v.Str))
}

// appendHist writes the buckets from the first to the last that holds a
// value, as bpftrace does:
//
//	[1K, 2K)              12 |@@@@@@@@@@@@@@@@@@@@                                |
func appendHist(b []byte, r *Row) []byte {
	type line struct {
		label string
		n     uint64
	}
	var lines []line
	if r.Neg > 0 {
		lines = append(lines, line{"(..., 0)", r.Neg})
	}
	lo, hi := -1, -1
	for i, n := range r.Buckets {
		if n > 0 {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	if lo >= 0 {
		for i := lo; i <= hi; i++ {
			lines = append(lines, line{bucketLabel(i), r.Buckets[i]})
		}
	}
	var most uint64
	width := 0
	for _, l := range lines {
		most = max(most, l.n)
		width = max(width, len(l.label))
	}
	for _, l := range lines {
		b = append(b, l.label...)
		b = append(b, strings.Repeat(" ", width-len(l.label))...)
		n := strconv.FormatUint(l.n, 10)
		b = append(b, strings.Repeat(" ", max(1, 8-len(n)))...)
		b = append(b, n...)
		b = append(b, " |"...)
		bar := 0
		if most > 0 {
			bar = int(l.n * barWidth / most)
		}
		b = append(b, strings.Repeat("@", bar)...)
		b = append(b, strings.Repeat(" ", barWidth-bar)...)
		b = append(b, "|\n"...)
	}
	return b
}

// bucketLabel is bpftrace's: [0], [1], [2, 4), [1K, 2K), [1M, 2M).
func bucketLabel(i int) string {
	switch i {
	case 0:
		return "[0]"
	case 1:
		return "[1]"
	}
	return "[" + size(i-1) + ", " + size(i) + ")"
}

// size writes 2^e with bpftrace's suffixes, which are powers of 1024.
func size(e int) string {
	suffixes := []string{"", "K", "M", "G", "T", "P", "E"}
	return strconv.FormatUint(1<<(e%10), 10) + suffixes[e/10]
}

// BucketRange is bucket i's values: [lo, hi).
func BucketRange(i int) (lo, hi uint64) {
	switch i {
	case 0:
		return 0, 1
	case 64:
		return 1 << 63, 1<<64 - 1
	}
	return (1 << i) >> 1, 1 << i
}

// AppendJSON writes one SPEC count record per row, as output writes a
// count event (the one writer of the schema):
//
//	{"time":"...","type":"count","keys":{"sender.comm":"kill","target.comm":"app"},"count":3}
//
// keys by field name (a field the event did not carry: null), time when
// the counts were taken (now), and interval_end when they are an
// interval's (end not zero). With a histogram, "hist" holds the field and
// the buckets that hold values:
// {"field":"latency_ns","buckets":[{"min":1024,"max":2047,"count":12}]}
// (a negative value's bucket has no min and max -1).
func (a *Aggregator) AppendJSON(b []byte, rows []Row, now, end time.Time) []byte {
	ev := &a.countEv
	ev.Type, ev.Time = tracer.TypeCount, now
	ev.Count.IntervalEnd = end
	for _, r := range rows {
		ev.Count.N = r.Count
		ev.Count.Keys = ev.Count.Keys[:0]
		a.vals = a.vals[:0]
		for i, f := range a.keys {
			start := len(a.vals)
			a.vals = appendJSONValue(a.vals, r.Values[i])
			if !r.Values[i].Present {
				a.vals = a.vals[:start] // null
			}
			ev.Count.Keys = append(ev.Count.Keys, tracer.CountValue{Field: f.Name, Value: a.vals[start:len(a.vals):len(a.vals)]})
		}
		b = output.AppendJSON(b, ev)
		if a.hist == nil {
			continue
		}
		b = b[:len(b)-2] // "}\n": the histogram goes inside
		b = append(b, `,"hist":{"field":`...)
		b = output.AppendJSONString(b, []byte(a.hist.Name))
		b = append(b, `,"buckets":[`...)
		first := true
		if r.Neg > 0 {
			b = append(b, `{"max":-1,"count":`...)
			b = strconv.AppendUint(b, r.Neg, 10)
			b = append(b, '}')
			first = false
		}
		for i, n := range r.Buckets {
			if n == 0 {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			lo, hi := BucketRange(i)
			if i < 64 {
				hi--
			}
			b = append(b, `{"min":`...)
			b = strconv.AppendUint(b, lo, 10)
			b = append(b, `,"max":`...)
			b = strconv.AppendUint(b, hi, 10)
			b = append(b, `,"count":`...)
			b = strconv.AppendUint(b, n, 10)
			b = append(b, '}')
		}
		b = append(b, "]}}\n"...)
	}
	return b
}

func appendJSONValue(b []byte, v Value) []byte {
	if !v.Present {
		return append(b, "null"...)
	}
	switch v.Type {
	case fields.Int, fields.Duration:
		return strconv.AppendInt(b, v.Int, 10)
	case fields.Uint:
		return strconv.AppendUint(b, v.Uint, 10)
	case fields.Bool:
		return strconv.AppendBool(b, v.Bool)
	}
	return output.AppendJSONString(b, []byte(v.Str))
}
