package filter

import (
	"maps"
	"slices"

	"github.com/expr-lang/expr/ast"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

// Pushdown is what the kernel can decide of a filter: necessary
// conditions that every event the filter matches meets, so the BPF
// programs may drop the events that fail them before they are copied.
// The Go filter still runs the whole expression on what is left.
type Pushdown struct {
	// Signals: the event's signal is one of these (nil: any).
	Signals []int
	// TargetPIDs and SenderPIDs: the target's or the sender's process id
	// is one of these (nil: any).
	TargetPIDs []uint32
	SenderPIDs []uint32
	// Comms: the sender's or the target's command name is one of these
	// (nil: any).
	Comms []string
	// SenderUIDs and TargetUIDs: the sender's or the target's uid is one
	// of these (nil: any).
	SenderUIDs []uint32
	TargetUIDs []uint32
	// Kinds are the event types the filter can match.
	Kinds fields.Kinds
}

// Pushdown returns what the kernel can decide of f.
func (f *Filter) Pushdown() Pushdown { return f.push }

// A constraint is a set of values one of which an event that satisfies
// a node has (ok), for one field: the signal, a pid, a comm.
type constraint[T comparable] struct {
	set map[T]bool
	ok  bool
}

// pushdown finds the constraints of the tree: a comparison of a field
// with constants gives its set; `a && b` both (for one field: the
// intersection; comms, which the kernel matches against sender OR
// target: the smaller set); `a || b` the union when both sides constrain
// the field. `not` and anything else constrain nothing.
func (c *compiler) pushdown(root ast.Node, kinds fields.Kinds) Pushdown {
	p := Pushdown{Kinds: kinds}
	if s := constrain(root, c.sigValues, true); s.ok {
		p.Signals = sortedSet(s.set, func(n int64) (int, bool) { return int(n), n >= 1 && n <= signals.Max })
	}
	pid := func(n int64) (uint32, bool) { return uint32(n), n >= 0 && n <= 1<<32-1 }
	if s := constrain(root, c.fieldInts("target.pid"), true); s.ok {
		p.TargetPIDs = sortedSet(s.set, pid)
	}
	if s := constrain(root, c.fieldInts("sender.pid"), true); s.ok {
		p.SenderPIDs = sortedSet(s.set, pid)
	}
	if s := constrain(root, c.fieldInts("sender.uid"), true); s.ok {
		p.SenderUIDs = sortedSet(s.set, pid)
	}
	if s := constrain(root, c.fieldInts("target.uid"), true); s.ok {
		p.TargetUIDs = sortedSet(s.set, pid)
	}
	if s := constrain(root, c.commValues, false); s.ok {
		p.Comms = sortedSet(s.set, func(s string) (string, bool) { return s, true })
	}
	return p
}

func sortedSet[T comparable, U interface{ ~int | ~uint32 | ~string }](set map[T]bool, conv func(T) (U, bool)) []U {
	out := []U{}
	for v := range set {
		if u, ok := conv(v); ok {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// leaf gives the set of values a comparison node allows, for one field.
type leaf[T comparable] func(n *ast.BinaryNode) (map[T]bool, bool)

// constrain walks ands and ors; intersect: an and of two sets is their
// intersection (one value per event), else the smaller one.
func constrain[T comparable](n ast.Node, at leaf[T], intersect bool) constraint[T] {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return constraint[T]{}
	}
	switch b.Operator {
	case "&&", "and":
		l, r := constrain(b.Left, at, intersect), constrain(b.Right, at, intersect)
		switch {
		case l.ok && r.ok && intersect:
			out := map[T]bool{}
			for v := range l.set {
				if r.set[v] {
					out[v] = true
				}
			}
			return constraint[T]{set: out, ok: true}
		case l.ok && r.ok:
			if len(r.set) < len(l.set) {
				return r
			}
			return l
		case l.ok:
			return l
		}
		return r
	case "||", "or":
		l, r := constrain(b.Left, at, intersect), constrain(b.Right, at, intersect)
		if !l.ok || !r.ok {
			return constraint[T]{}
		}
		out := maps.Clone(l.set)
		maps.Copy(out, r.set)
		return constraint[T]{set: out, ok: true}
	case "==", "in":
		if set, ok := at(b); ok {
			return constraint[T]{set: set, ok: true}
		}
	}
	return constraint[T]{}
}

// operands splits field == constant (either way round) and field in
// [constants] into the field and the constants.
func (c *compiler) operands(b *ast.BinaryNode) (*fields.Field, []value, bool) {
	fieldOf := func(n ast.Node) *fields.Field {
		name, ok := dotted(n)
		if !ok {
			return nil
		}
		return resolve(name)
	}
	constOf := func(n ast.Node) (value, bool) {
		v, err := c.value(n)
		return v, err == nil && v.konst && (v.t == tInt || v.t == tStr)
	}
	switch b.Operator {
	case "==":
		for _, p := range [][2]ast.Node{{b.Left, b.Right}, {b.Right, b.Left}} {
			if f := fieldOf(p[0]); f != nil {
				if v, ok := constOf(p[1]); ok {
					return f, []value{v}, true
				}
			}
		}
	case "in":
		f := fieldOf(b.Left)
		arr, ok := b.Right.(*ast.ArrayNode)
		if f == nil || !ok {
			return nil, nil, false
		}
		var vs []value
		for _, e := range arr.Nodes {
			v, ok := constOf(e)
			if !ok {
				return nil, nil, false
			}
			vs = append(vs, v)
		}
		return f, vs, true
	}
	return nil, nil, false
}

// sigValues: signal.num (sig) == N, or signal.name == "SIGHUP", which
// names a number only as signals.Name writes it (SIGIOT never matches:
// the name of 6 is SIGABRT).
func (c *compiler) sigValues(b *ast.BinaryNode) (map[int64]bool, bool) {
	f, vs, ok := c.operands(b)
	if !ok {
		return nil, false
	}
	set := map[int64]bool{}
	switch f.Name {
	case "signal.num":
		for _, v := range vs {
			set[v.i] = true
		}
	case "signal.name":
		for _, v := range vs {
			for n := 1; n <= signals.Max; n++ {
				if signals.Name(n) == v.s {
					set[int64(n)] = true
				}
			}
		}
	default:
		return nil, false
	}
	return set, true
}

func (c *compiler) fieldInts(name string) leaf[int64] {
	return func(b *ast.BinaryNode) (map[int64]bool, bool) {
		f, vs, ok := c.operands(b)
		if !ok || f.Name != name {
			return nil, false
		}
		set := map[int64]bool{}
		for _, v := range vs {
			set[v.i] = true
		}
		return set, true
	}
}

// commValues: sender.comm or target.comm (the process's name, not a
// thread's: see Narrow) equal to one of some names.
func (c *compiler) commValues(b *ast.BinaryNode) (map[string]bool, bool) {
	f, vs, ok := c.operands(b)
	if !ok || (f.Name != "sender.comm" && f.Name != "target.comm") {
		return nil, false
	}
	set := map[string]bool{}
	for _, v := range vs {
		if v.s == "" {
			return nil, false // the kernel's filter has no empty name
		}
		set[v.s] = true
	}
	return set, true
}

// Narrow adds to o (the kernel's filters from the command line's flags)
// what the kernel can decide of f, so that the two intersect: an event
// the kernel then drops is one that o already dropped or that f does not
// match. It never widens o. The BPF semantics it relies on
// (bpf/sigtrace.c; the property test simulates them):
//
//   - Signals: a generate, deliver or pending event's signal, an exit's
//     cause; a deliver of SIGKILL also passes when the signal its group
//     dies of does. With -s given, a filter that allows SIGKILL while -s
//     does not narrows nothing: -s still lets through the SIGKILLs the
//     kernel delivers when a group dies of one of its signals.
//   - TargetPIDs: the target's process id (generate: the task's tgid;
//     deliver: the receiving thread's; exit: the one that died).
//   - SenderPIDs: the kernel's sender is the current task, which the
//     decoder names as sender whenever the sender is not the kernel; only
//     generate events have a sender. A filter's sender pids go into
//     AnyPIDs (sender OR target), not SenderPIDs, unless --sender-pid is
//     given (then they intersect) or -p is (then nothing is added): the
//     signals sent TO those processes are then still seen, which the
//     re-raise join and the Go runtime's verdict of their own later
//     signals need.
//   - Comms: the kernel matches the sender's or the target's process or
//     thread name (deliver: the receiver's; exit: the killer's or the
//     dead process's), so a filter's sender.comm or target.comm can only
//     narrow to Comms when --comm is not given (both are OR-sets: their
//     intersection would drop a signal from one of the names to the
//     other). thread_comm is not pushed down: a re-raise's thread may be
//     named apart from the thread the original signal went to.
//   - Kinds: NoDeliver when the filter matches no deliver event (and no
//     pending one: those are found from deliveries), NoExit when it
//     matches no exit, HistoryOff when it matches no disposition
//     change. A generate event is never dropped by type: the
//     exit's killer is joined from the generate side, which runs
//     regardless of filters. Without deliveries, a re-raise is looked for
//     within ReraiseWindow of the original's generate event, not of its
//     delivery (as with --no-deliver).
//
// A set the flags and the filter have nothing in common of is left as
// the flags gave it (the Go filter then drops everything), and so is one
// that would overflow the kernel's maps.
func (f *Filter) Narrow(o *tracer.Options) {
	p := f.push
	if len(p.Signals) > 0 {
		switch {
		case len(o.Signals) == 0:
			o.Signals = slices.Clone(p.Signals)
		case slices.Contains(p.Signals, 9) && !slices.Contains(o.Signals, 9):
		default:
			if in := intersect(o.Signals, p.Signals); len(in) > 0 {
				o.Signals = in
			}
		}
	}
	pids := func() int { return len(o.SenderPIDs) + len(o.TargetPIDs) + len(o.AnyPIDs) }
	if len(p.TargetPIDs) > 0 {
		switch {
		case len(o.TargetPIDs) == 0:
			if pids()+len(p.TargetPIDs) <= tracer.MaxPIDs {
				o.TargetPIDs = slices.Clone(p.TargetPIDs)
			}
		default:
			if in := intersect(o.TargetPIDs, p.TargetPIDs); len(in) > 0 {
				o.TargetPIDs = in
			}
		}
	}
	if len(p.SenderPIDs) > 0 {
		switch {
		case len(o.SenderPIDs) > 0:
			if in := intersect(o.SenderPIDs, p.SenderPIDs); len(in) > 0 {
				o.SenderPIDs = in
			}
		case len(o.AnyPIDs) == 0:
			if pids()+len(p.SenderPIDs) <= tracer.MaxPIDs {
				o.AnyPIDs = slices.Clone(p.SenderPIDs)
			}
		}
	}
	uids := func() int { return len(o.SenderUIDs) + len(o.TargetUIDs) }
	for _, u := range []struct {
		have *[]uint32
		want []uint32
	}{{&o.SenderUIDs, p.SenderUIDs}, {&o.TargetUIDs, p.TargetUIDs}} {
		switch {
		case len(u.want) == 0:
		case len(*u.have) == 0:
			if uids()+len(u.want) <= tracer.MaxUIDs {
				*u.have = slices.Clone(u.want)
			}
		default:
			if in := intersect(*u.have, u.want); len(in) > 0 {
				*u.have = in
			}
		}
	}
	if len(p.Comms) > 0 && len(o.Comms) == 0 && len(p.Comms) <= tracer.MaxComms {
		o.Comms = slices.Clone(p.Comms)
	}
	if !p.Kinds.Has(tracer.TypeDeliver) && o.PendingAfter <= 0 {
		o.NoDeliver = true
	}
	if !p.Kinds.Has(tracer.TypeExit) && (o.PendingAfter <= 0 || !p.Kinds.Has(tracer.TypePending)) {
		o.NoExit = true
	}
	if !p.Kinds.Has(tracer.TypeDisposition) {
		o.History = tracer.HistoryOff
	}
}

// KernelExact says that the kernel's filters decide the whole expression
// for generate events: it is an and of comparisons (== or in) of the
// event type, the signal or the target's process id with constants, each
// of which Pushdown gives exactly. Counting in the kernel relies on it:
// the events the kernel lets through are then the ones f matches, as
// long as Narrow could apply every set (see Covers).
func (f *Filter) KernelExact() bool { return f.exact }

func (c *compiler) exact(n ast.Node) bool {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return false
	}
	switch b.Operator {
	case "&&", "and":
		return c.exact(b.Left) && c.exact(b.Right)
	case "==", "in":
		if _, ok := c.sigValues(b); ok {
			return true
		}
		if _, ok := c.fieldInts("target.pid")(b); ok {
			return true
		}
		if f, _, ok := c.operands(b); ok && f.Name == "type" {
			return true
		}
	}
	return false
}

// Covers says that o, after Narrow, lets through no generate event that
// the pushed-down signal and target sets would not: Narrow leaves the
// flags as they are when a set has nothing in common with them or would
// overflow the kernel's maps.
func (f *Filter) Covers(o *tracer.Options) bool {
	p := f.push
	within := func(have, want []uint32) bool {
		if want == nil {
			return true
		}
		if len(have) == 0 {
			return false
		}
		for _, v := range have {
			if !slices.Contains(want, v) {
				return false
			}
		}
		return true
	}
	if p.Signals != nil {
		if len(o.Signals) == 0 {
			return false
		}
		for _, s := range o.Signals {
			if !slices.Contains(p.Signals, s) {
				return false
			}
		}
	}
	return within(o.TargetPIDs, p.TargetPIDs)
}

// intersect returns the values of a that are in b, in a's order.
func intersect[T comparable](a, b []T) []T {
	var out []T
	for _, v := range a {
		if slices.Contains(b, v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
