package output

import (
	"bytes"
	"regexp"
	"time"

	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

// jsonState is what a JSON renderer keeps between events so that it need
// not redo work: see timeCache and detail.
type jsonState struct {
	time    timeCache
	details [detailSlots]detailSlot
	code    codeCache
	// redact masks what it matches in arguments (--redact-argv).
	redact *regexp.Regexp
}

// codeCache remembers the name of the last si_code looked up: a storm
// repeats one.
type codeCache struct {
	sig   int
	code  int32
	valid bool
	ok    bool
	name  string
}

// lookupCode is signals.LookupCode through st's codeCache.
func (st *jsonState) lookupCode(sig int, code int32) (string, bool) {
	c := &st.code
	if !c.valid || c.sig != sig || c.code != code {
		c.name, c.ok = signals.LookupCode(sig, code)
		c.sig, c.code, c.valid = sig, code, true
	}
	return c.name, c.ok
}

// detailSlots is the size of the sender detail cache: a storm comes from
// a few senders, and DetailIDs that share a slot only cost a re-render.
const detailSlots = 64

// detailSlotSize is what each slot starts with, all slots in one
// allocation: enough for any detail but an argv full of escapes.
const detailSlotSize = 1024

// detailSlot holds the rendered detail of one DetailID (0: empty). Its
// buffer is reused, so it only allocates again to outgrow its start.
type detailSlot struct {
	id uint64
	b  []byte
}

// detail returns the rendered argv, argv_truncated and ancestry of a
// sender p, which id (a DetailID, not 0) names: from the cache, or
// rendered into it. Valid until the next call.
func (st *jsonState) detail(id uint64, p *tracer.Process, argvTruncated bool) []byte {
	s := &st.details[id%detailSlots]
	if s.id != id {
		if s.b == nil {
			// First use of the cache: every slot gets its start,
			// so that new IDs do not each cost an allocation.
			arena := make([]byte, detailSlots*detailSlotSize)
			for i := range st.details {
				st.details[i].b = arena[i*detailSlotSize : i*detailSlotSize : (i+1)*detailSlotSize]
			}
		}
		s.b = appendProcessDetail(s.b[:0], p, argvTruncated, st)
		s.id = id
	}
	return s.b
}

// timeCache holds the formatted TimeLayout text of one Unix second in one
// Location, all but the nanoseconds: within that second only the 9
// fraction digits differ. A zone's offset is a function of the instant, so
// keying on the Unix second also follows DST and other offset changes.
type timeCache struct {
	sec  int64
	loc  *time.Location
	ok   bool
	frac int // text[:frac] ends with '.', the zone starts at frac+9
	n    int
	text [48]byte
}

// appendTime appends t as t.AppendFormat(b, TimeLayout) does.
func (c *timeCache) appendTime(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	if !c.ok || sec != c.sec || loc != c.loc {
		return c.fill(b, t, sec, loc)
	}
	b = append(b, c.text[:c.frac]...)
	b = appendNanos(b, uint32(t.Nanosecond()))
	return append(b, c.text[c.frac+9:c.n]...)
}

// fill formats t the slow way and keeps the text around its fraction for
// the rest of the second.
func (c *timeCache) fill(b []byte, t time.Time, sec int64, loc *time.Location) []byte {
	start := len(b)
	b = t.AppendFormat(b, TimeLayout)
	out := b[start:]
	// The zone ("Z", "-07:00") has no '.', so the last one starts the
	// fraction.
	dot := bytes.LastIndexByte(out, '.')
	if dot < 0 || len(out) < dot+10 || len(out) > len(c.text) {
		c.ok = false
		return b
	}
	c.sec, c.loc, c.ok = sec, loc, true
	c.frac, c.n = dot+1, copy(c.text[:], out)
	return b
}

// digitPairs holds "00" to "99": numbers are written two digits at a
// time.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// appendNanos appends ns (< 1e9) as exactly 9 digits.
func appendNanos(b []byte, ns uint32) []byte {
	var d [9]byte
	for i := 7; i > 0; i -= 2 {
		r := ns % 100
		ns /= 100
		d[i], d[i+1] = digitPairs[2*r], digitPairs[2*r+1]
	}
	d[0] = byte('0' + ns%10)
	return append(b, d[:]...)
}

// appendUint32 appends v in decimal, as strconv.AppendUint does, for the
// pids and uids of every event.
func appendUint32(b []byte, v uint32) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	var d [10]byte
	i := len(d)
	for v >= 100 {
		r := v % 100
		v /= 100
		i -= 2
		d[i], d[i+1] = digitPairs[2*r], digitPairs[2*r+1]
	}
	if v >= 10 {
		i -= 2
		d[i], d[i+1] = digitPairs[2*v], digitPairs[2*v+1]
	} else {
		i--
		d[i] = byte('0' + v)
	}
	return append(b, d[i:]...)
}
