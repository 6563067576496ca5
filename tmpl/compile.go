package tmpl

import (
	"fmt"
	"strconv"
	"strings"
	"text/template/parse"
	"time"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tracer"
)

// fallBack is the reason a template is left to text/template: a
// construct outside the compiled subset. It is not an error.
type fallBack string

func (f fallBack) Error() string { return string(f) }

type compiler struct{}

func (c *compiler) list(l *parse.ListNode) ([]part, error) {
	if l == nil {
		return nil, nil
	}
	var out []part
	for _, n := range l.Nodes {
		p, err := c.node(n)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out = append(out, p)
		}
	}
	return out, nil
}

func (c *compiler) node(n parse.Node) (part, error) {
	switch n := n.(type) {
	case *parse.TextNode:
		text := append([]byte(nil), n.Text...)
		return func(_ *Template, dst []byte, _ *tracer.Event) []byte { return append(dst, text...) }, nil
	case *parse.ActionNode:
		return c.pipe(n.Pipe)
	case *parse.IfNode:
		return c.ifNode(n)
	case *parse.CommentNode:
		return nil, nil
	}
	return nil, fallBack(fmt.Sprintf("%T", n))
}

// arg is an argument of a helper: a field, an object (for chain) or a
// literal string.
type arg struct {
	f      *fields.Field
	object string
	lit    *string
}

func (c *compiler) arg(n parse.Node) (arg, error) {
	switch n := n.(type) {
	case *parse.FieldNode:
		name := strings.Join(n.Ident, ".")
		if f := fields.Lookup(name); f != nil {
			return arg{f: f}, nil
		}
		if fields.IsObject(name) {
			return arg{object: name}, nil
		}
		return arg{}, checkChain(n.Ident) // the error checkTree gave already
	case *parse.StringNode:
		s := n.Text
		return arg{lit: &s}, nil
	}
	return arg{}, fallBack("argument " + n.String())
}

// pipe compiles {{.f}}, {{helper args...}} and {{.f | helper args...}}.
func (c *compiler) pipe(p *parse.PipeNode) (part, error) {
	if len(p.Decl) > 0 || len(p.Cmds) == 0 || len(p.Cmds) > 2 {
		return nil, fallBack("pipeline " + p.String())
	}
	var args []arg
	first := p.Cmds[0].Args
	if len(p.Cmds) == 2 {
		if len(first) != 1 {
			return nil, fallBack("pipeline " + p.String())
		}
		a, err := c.arg(first[0])
		if err != nil {
			return nil, err
		}
		// .f | helper x: helper x .f
		rest := p.Cmds[1].Args
		if len(rest) == 0 {
			return nil, fallBack("pipeline " + p.String())
		}
		for _, n := range rest[1:] {
			b, err := c.arg(n)
			if err != nil {
				return nil, err
			}
			args = append(args, b)
		}
		return c.call(rest[0], append(args, a))
	}
	if len(first) == 1 {
		a, err := c.arg(first[0])
		if err != nil {
			return nil, err
		}
		return c.value(a)
	}
	for _, n := range first[1:] {
		b, err := c.arg(n)
		if err != nil {
			return nil, err
		}
		args = append(args, b)
	}
	return c.call(first[0], args)
}

// value is {{.f}}: the field's text, under the sanitising policy.
func (c *compiler) value(a arg) (part, error) {
	switch {
	case a.lit != nil:
		text := []byte(*a.lit)
		return func(_ *Template, dst []byte, _ *tracer.Event) []byte { return output.AppendSafe(dst, text) }, nil
	case a.object != "":
		return nil, fmt.Errorf("--format: .%s is an object: name one of its fields (%s), or use chain .%[1]s", a.object, strings.Join(childNames(a.object), ", "))
	}
	f := a.f
	switch {
	case f.Type == fields.String:
		return func(t *Template, dst []byte, ev *tracer.Event) []byte {
			if !f.On(ev) {
				return dst
			}
			t.tmp = f.Str(t.tmp[:0], ev)
			return output.AppendSafe(dst, t.tmp)
		}, nil
	case f.Type == fields.List && f.Elem == fields.String:
		return func(t *Template, dst []byte, ev *tracer.Event) []byte {
			if !f.On(ev) {
				return dst
			}
			for i, n := 0, f.Len(ev); i < n; i++ {
				if i > 0 {
					dst = append(dst, ',')
				}
				t.tmp = f.StrAt(t.tmp[:0], ev, i)
				dst = output.AppendSafe(dst, t.tmp)
			}
			return dst
		}, nil
	case f.Type == fields.List && f.Elem == fields.Object:
		return c.ancestry(f, " ← ")
	}
	// Numbers, bools, times, lists of numbers: nothing to sanitise.
	return func(_ *Template, dst []byte, ev *tracer.Event) []byte {
		if !f.On(ev) {
			return dst
		}
		return f.AppendText(dst, ev)
	}, nil
}

// childNames lists an object's direct fields and objects.
func childNames(object string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range fields.All() {
		rest, ok := strings.CutPrefix(f.Name, object+".")
		if !ok {
			continue
		}
		first, _, _ := strings.Cut(rest, ".")
		if !seen[first] {
			seen[first] = true
			out = append(out, first)
		}
	}
	return out
}

// ancestry writes a list of {pid, comm} as comm[pid] joined by sep.
func (c *compiler) ancestry(f *fields.Field, sep string) (part, error) {
	pids, comms := fields.Lookup(f.Name+".pid"), fields.Lookup(f.Name+".comm")
	if pids == nil || comms == nil {
		return nil, fmt.Errorf("--format: .%s: a list of objects without pid and comm", f.Name)
	}
	return func(t *Template, dst []byte, ev *tracer.Event) []byte {
		if !f.On(ev) {
			return dst
		}
		for i, n := 0, f.Len(ev); i < n; i++ {
			if i > 0 {
				dst = append(dst, sep...)
			}
			dst = appendProc(t, dst, ev, comms, i, pids.UintAt(ev, i))
		}
		return dst
	}, nil
}

func appendProc(t *Template, dst []byte, ev *tracer.Event, comms *fields.Field, i int, pid uint64) []byte {
	t.tmp = comms.StrAt(t.tmp[:0], ev, i)
	dst = output.AppendSafe(dst, t.tmp)
	dst = append(dst, '[')
	dst = strconv.AppendUint(dst, pid, 10)
	return append(dst, ']')
}

func (c *compiler) call(fn parse.Node, args []arg) (part, error) {
	id, ok := fn.(*parse.IdentifierNode)
	if !ok {
		return nil, fallBack("command " + fn.String())
	}
	switch id.Ident {
	case "json":
		if len(args) != 1 {
			return nil, fmt.Errorf("--format: json takes one value: {{json .sender.comm}}")
		}
		return c.json(args[0])
	case "time":
		return c.time(args)
	case "dur":
		if len(args) != 1 || args[0].f == nil || !isInteger(args[0].f.Type) {
			return nil, fmt.Errorf("--format: dur takes one duration (an integer of nanoseconds): {{dur .latency_ns}}")
		}
		f := args[0].f
		return func(_ *Template, dst []byte, ev *tracer.Event) []byte {
			if !f.On(ev) {
				return dst
			}
			return appendDuration(dst, intOf(f, ev))
		}, nil
	case "join":
		if len(args) != 2 || args[0].lit == nil || args[1].f == nil || args[1].f.Type != fields.List {
			return nil, fmt.Errorf(`--format: join takes a separator and a list: {{join " <- " .sender.ancestry.comm}}`)
		}
		return c.join(*args[0].lit, args[1].f)
	case "chain":
		sep := " ← "
		if len(args) == 2 && args[0].lit != nil {
			sep, args = *args[0].lit, args[1:]
		}
		if len(args) != 1 || args[0].object == "" {
			return nil, fmt.Errorf("--format: chain takes a process: {{chain .sender}}, {{chain \" <- \" .killer}}")
		}
		return c.chain(sep, args[0].object)
	}
	return nil, fallBack("function " + id.Ident)
}

func isInteger(t fields.Type) bool {
	return t == fields.Int || t == fields.Uint || t == fields.Duration
}

func intOf(f *fields.Field, ev *tracer.Event) int64 {
	if f.Type == fields.Uint {
		return int64(f.Uint(ev))
	}
	return f.Int(ev)
}

func (c *compiler) json(a arg) (part, error) {
	if a.lit != nil {
		q := output.AppendJSONString(nil, []byte(*a.lit))
		return func(_ *Template, dst []byte, _ *tracer.Event) []byte { return append(dst, q...) }, nil
	}
	if a.object != "" {
		return nil, fmt.Errorf("--format: json .%s: name one of its fields (%s)", a.object, strings.Join(childNames(a.object), ", "))
	}
	f := a.f
	if f.Type == fields.List && f.Elem == fields.Object {
		return nil, fmt.Errorf("--format: json .%s: name the list of one of its fields (.%[1]s.pid, .%[1]s.comm)", f.Name)
	}
	return func(t *Template, dst []byte, ev *tracer.Event) []byte {
		if !f.On(ev) {
			return append(dst, "null"...)
		}
		return appendJSON(t, dst, f, ev)
	}, nil
}

// appendJSON writes a field's value as JSON.
func appendJSON(t *Template, dst []byte, f *fields.Field, ev *tracer.Event) []byte {
	switch f.Type {
	case fields.String:
		t.tmp = f.Str(t.tmp[:0], ev)
		return output.AppendJSONString(dst, t.tmp)
	case fields.Time:
		dst = append(dst, '"')
		dst = f.Time(ev).AppendFormat(dst, fields.TimeLayout)
		return append(dst, '"')
	case fields.List:
		dst = append(dst, '[')
		for i, n := 0, f.Len(ev); i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if f.Elem == fields.String {
				t.tmp = f.StrAt(t.tmp[:0], ev, i)
				dst = output.AppendJSONString(dst, t.tmp)
			} else {
				dst = strconv.AppendUint(dst, f.UintAt(ev, i), 10)
			}
		}
		return append(dst, ']')
	}
	return f.AppendText(dst, ev)
}

// DefaultTime is the layout of {{time .time}}: the table's.
const DefaultTime = "15:04:05.000000"

func (c *compiler) time(args []arg) (part, error) {
	layout := DefaultTime
	if len(args) == 2 && args[0].lit != nil {
		layout, args = *args[0].lit, args[1:]
	}
	if len(args) != 1 || args[0].f == nil || args[0].f.Type != fields.Time {
		return nil, fmt.Errorf(`--format: time takes an optional layout and a time: {{time .time}}, {{time "2006-01-02T15:04:05Z07:00" .time}}, {{time "unix" .time}}`)
	}
	f := args[0].f
	if layout == "unix" {
		return func(_ *Template, dst []byte, ev *tracer.Event) []byte {
			if !f.On(ev) {
				return dst
			}
			return appendUnix(dst, f.Time(ev))
		}, nil
	}
	return func(_ *Template, dst []byte, ev *tracer.Event) []byte {
		if !f.On(ev) {
			return dst
		}
		return f.Time(ev).AppendFormat(dst, layout)
	}, nil
}

// appendUnix writes seconds since the epoch with nanoseconds: 1700000000.000000123.
func appendUnix(dst []byte, tm time.Time) []byte {
	dst = strconv.AppendInt(dst, tm.Unix(), 10)
	ns := tm.Nanosecond()
	dst = append(dst, '.')
	for d := 100000000; d > 0; d /= 10 {
		dst = append(dst, byte('0'+ns/d%10))
	}
	return dst
}

func (c *compiler) join(sep string, f *fields.Field) (part, error) {
	if f.Elem == fields.Object {
		return c.ancestry(f, sep)
	}
	sepB := []byte(sep)
	return func(t *Template, dst []byte, ev *tracer.Event) []byte {
		if !f.On(ev) {
			return dst
		}
		for i, n := 0, f.Len(ev); i < n; i++ {
			if i > 0 {
				dst = append(dst, sepB...)
			}
			if f.Elem == fields.String {
				t.tmp = f.StrAt(t.tmp[:0], ev, i)
				dst = output.AppendSafe(dst, t.tmp)
			} else {
				dst = strconv.AppendUint(dst, f.UintAt(ev, i), 10)
			}
		}
		return dst
	}, nil
}

// chain writes a process and its parents: pkill[789] ← sh[700] ← cron[1].
func (c *compiler) chain(sep, object string) (part, error) {
	pid, comm := fields.Lookup(object+".pid"), fields.Lookup(object+".comm")
	if pid == nil || comm == nil {
		return nil, fmt.Errorf("--format: chain .%s: not a process (no pid and comm)", object)
	}
	anc := fields.Lookup(object + ".ancestry")
	var ancPart part
	if anc != nil {
		var err error
		if ancPart, err = c.ancestry(anc, sep); err != nil {
			return nil, err
		}
	}
	reason := fields.Lookup(object + ".reason")
	sepB := []byte(sep)
	return func(t *Template, dst []byte, ev *tracer.Event) []byte {
		if !comm.On(ev) {
			if reason != nil && reason.On(ev) {
				dst = append(dst, "kernel ("...)
				t.tmp = reason.Str(t.tmp[:0], ev)
				return append(output.AppendSafe(dst, t.tmp), ')')
			}
			return dst
		}
		t.tmp = comm.Str(t.tmp[:0], ev)
		dst = output.AppendSafe(dst, t.tmp)
		dst = append(dst, '[')
		dst = strconv.AppendUint(dst, pid.Uint(ev), 10)
		dst = append(dst, ']')
		if ancPart != nil && anc.On(ev) {
			dst = append(dst, sepB...)
			dst = ancPart(t, dst, ev)
		}
		return dst
	}, nil
}

// ifNode compiles {{if .f}} A {{else}} B {{end}}.
func (c *compiler) ifNode(n *parse.IfNode) (part, error) {
	p := n.Pipe
	if len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return nil, fallBack("if " + p.String())
	}
	a, err := c.arg(p.Cmds[0].Args[0])
	if err != nil {
		return nil, err
	}
	if a.f == nil {
		return nil, fallBack("if " + p.String())
	}
	yes, err := c.list(n.List)
	if err != nil {
		return nil, err
	}
	no, err := c.list(n.ElseList)
	if err != nil {
		return nil, err
	}
	f := a.f
	return func(t *Template, dst []byte, ev *tracer.Event) []byte {
		branch := no
		if truth(t, f, ev) {
			branch = yes
		}
		for _, q := range branch {
			dst = q(t, dst, ev)
		}
		return dst
	}, nil
}

// truth is text/template's truth of the field's value: carried and not
// zero, empty or false.
func truth(t *Template, f *fields.Field, ev *tracer.Event) bool {
	if !f.On(ev) {
		return false
	}
	switch f.Type {
	case fields.Int, fields.Duration:
		return f.Int(ev) != 0
	case fields.Uint:
		return f.Uint(ev) != 0
	case fields.Bool:
		return f.Bool(ev)
	case fields.String:
		t.tmp = f.Str(t.tmp[:0], ev)
		return len(t.tmp) > 0
	case fields.Time:
		return !f.Time(ev).IsZero()
	case fields.List:
		return f.Len(ev) > 0
	}
	return false
}

// appendDuration writes ns as the table does: 850ns, 12.3µs, 4.5ms, 1.2s.
func appendDuration(b []byte, ns int64) []byte {
	switch {
	case ns < 1000:
		return append(strconv.AppendInt(b, ns, 10), "ns"...)
	case ns < 1000_000:
		return append(strconv.AppendFloat(b, float64(ns)/1e3, 'f', 1, 64), "µs"...)
	case ns < 1000_000_000:
		return append(strconv.AppendFloat(b, float64(ns)/1e6, 'f', 1, 64), "ms"...)
	}
	return append(strconv.AppendFloat(b, float64(ns)/1e9, 'f', 1, 64), "s"...)
}
