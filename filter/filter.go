// Package filter compiles the FILTER expression of `sigtrace trace` (and
// `replay`): a one-line boolean expression over the event fields of
// package fields, by their JSON names, e.g.
//
//	sig == SIGHUP && target.comm == "logdeviced"
//	sender.uid != 0 && sig in [SIGTERM, SIGKILL]
//	verdict == "fatal" && unprepared
//
// The language is expr's (github.com/expr-lang/expr): its parser and type
// checker, over a typed environment built from the field registry, turn
// the text into a checked syntax tree, which this package compiles into
// closures over the registry's typed getters. expr's own VM is not used:
// it passes every value as an interface (boxing an int64 or a string
// allocates) and needs the event as a map or a struct it reads by
// reflection, when a closure per node reads the event itself, with a
// buffer per string operand reused for every event. That keeps typical
// filters at tens of nanoseconds and no allocation per event (see
// BenchmarkMatch).
//
// Absent fields: a field an event does not carry (its kind has no such
// field, as sender on a deliver event, or the JSON leaves it out, as
// sender.pid for a signal the kernel raised) makes every comparison with
// it false, != included; `not` and `not in` negate, so they are true
// then. `field == nil` is true when it is absent, `field != nil` when it
// is present. A boolean field the JSON writes only when true (traced,
// sigwait) reads as false when left out. A list the kind carries but that
// is empty has length 0.
package filter

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/tracer"
)

// Filter is a compiled expression. Match is not safe for concurrent use:
// string operands share a buffer per Filter.
type Filter struct {
	src   string
	match func(*tracer.Event) bool
	push  Pushdown
	exact bool // see KernelExact
}

// Match reports whether ev passes the filter.
func (f *Filter) Match(ev *tracer.Event) bool { return f.match(ev) }

// String returns the expression as given.
func (f *Filter) String() string { return f.src }

// maxCommLen is how much of a command name the kernel keeps.
const maxCommLen = 15

// Error is a filter that does not compile: one line, pointing at the
// column (1-based, in characters) where it goes wrong.
type Error struct {
	Column int    // 0: the whole expression
	Near   string // the text from Column on, clipped
	Msg    string
}

func (e *Error) Error() string {
	switch {
	case e.Column == 0:
		return "bad filter: " + e.Msg
	case e.Near == "":
		return fmt.Sprintf("bad filter at column %d (at the end): %s", e.Column, e.Msg)
	}
	return fmt.Sprintf("bad filter at column %d (at '%s'): %s", e.Column, e.Near, e.Msg)
}

// errAt builds an Error at a node's location (rune offsets).
func errAt(src string, loc file.Location, format string, args ...any) *Error {
	return &Error{Column: loc.From + 1, Near: near(src, loc.From), Msg: fmt.Sprintf(format, args...)}
}

// near is the text of src from rune offset from on, at most 24 runes.
func near(src string, from int) string {
	rs := []rune(src)
	if from >= len(rs) {
		return ""
	}
	rs = rs[from:]
	if len(rs) > 24 {
		return string(rs[:21]) + "..."
	}
	return string(rs)
}

// goTypes are expr's Go type names, which say number, object, list.
var goTypes = regexp.MustCompile(`\b(u?int(8|16|32|64)?|float(32|64))\b|map\[string\]interface \{\}|\[\]interface \{\}`)

func typeNames(msg string) string {
	return goTypes.ReplaceAllStringFunc(msg, func(t string) string {
		switch {
		case strings.HasPrefix(t, "map"):
			return "object"
		case strings.HasPrefix(t, "[]"):
			return "list"
		}
		return "number"
	})
}

// exprError turns a parser or checker error into an Error.
func exprError(src string, err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &Error{Msg: typeNames(err.Error())}
	}
	if strings.HasSuffix(fe.Message, "EOF") {
		// expr places the end at the last character.
		return &Error{Column: utf8.RuneCountInString(src) + 1, Msg: "the expression ends too early"}
	}
	return &Error{Column: fe.From + 1, Near: near(src, fe.From), Msg: typeNames(fe.Message)}
}

// Compile parses and type-checks src over the field registry and
// compiles it. Errors are *Error.
func Compile(src string) (*Filter, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Msg: `empty expression (e.g. 'sig == SIGHUP && target.comm == "nginx"')`}
	}
	if strings.ContainsAny(src, "\n\r") {
		return nil, &Error{Msg: "the expression is one line: no newlines"}
	}
	if !utf8.ValidString(src) {
		return nil, &Error{Msg: "the expression is not valid UTF-8"}
	}
	c := conf.CreateNew()
	expr.Env(env)(c)
	tree, err := parser.ParseWithConfig(src, c)
	if err != nil {
		return nil, exprError(src, err)
	}
	if err := checkNames(src, tree.Node); err != nil {
		return nil, err
	}
	t, err := checker.Check(tree, c)
	if err != nil {
		return nil, exprError(src, err)
	}
	if t == nil || t.Kind() != reflect.Bool {
		return nil, &Error{Msg: "the expression must be true or false for an event, like sig == SIGHUP, not a value"}
	}
	cp := &compiler{src: src}
	cnd, err := cp.cond(tree.Node)
	if err != nil {
		return nil, err
	}
	f := &Filter{src: src, match: cnd.fn}
	f.push = cp.pushdown(tree.Node, cnd.kinds)
	f.exact = cp.exact(tree.Node)
	return f, nil
}

// dotted returns the name a chain of identifiers and properties spells
// (target.comm), or false.
func dotted(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return n.Value, true
	case *ast.MemberNode:
		p, ok := n.Property.(*ast.StringNode)
		if !ok || n.Method || n.Optional {
			return "", false
		}
		base, ok := dotted(n.Node)
		if !ok {
			return "", false
		}
		return base + "." + p.Value, true
	}
	return "", false
}

// nameVisitor collects the names a tree uses, outermost chains only.
type nameVisitor struct {
	all   []ast.Node
	inner map[ast.Node]bool
}

func (v *nameVisitor) Visit(n *ast.Node) {
	switch m := (*n).(type) {
	case *ast.IdentifierNode:
		v.all = append(v.all, m)
	case *ast.MemberNode:
		v.all = append(v.all, m)
		v.inner[m.Node] = true
	}
}

// checkNames reports the first unknown name, with the closest known
// ones, before expr's checker would say "unknown name".
func checkNames(src string, root ast.Node) error {
	v := &nameVisitor{inner: map[ast.Node]bool{}}
	ast.Walk(&root, v)
	var first *Error
	for _, n := range v.all {
		if v.inner[n] {
			continue
		}
		name, ok := dotted(n)
		if !ok {
			continue
		}
		if _, ok := constants[name]; ok || resolve(name) != nil {
			continue
		}
		var e *Error
		if isPrefix(name) {
			e = errAt(src, start(n), "%s is an object: compare one of its fields (%s)", name, strings.Join(children(name), ", "))
		} else {
			e = unknownName(src, start(n), name)
		}
		if first == nil || e.Column < first.Column {
			first = e
		}
	}
	if first != nil {
		return first
	}
	return nil
}

// start is where a chain of names begins.
func start(n ast.Node) file.Location {
	for {
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return n.Location()
		}
		n = m.Node
	}
}

func unknownName(src string, loc file.Location, name string) *Error {
	hint := " (see 'sigtrace fields')"
	if s := suggest(name); len(s) > 0 {
		hint = " (did you mean " + strings.Join(s, ", ") + "?)"
	}
	if _, ok := constants["SIG"+name]; ok {
		hint = " (signal names are written in full: SIG" + name + ")"
	}
	what := "unknown field"
	_, short := constants["SIG"+name]
	if short || strings.HasPrefix(name, "SIG") {
		what = "unknown signal"
	}
	return errAt(src, loc, "%s %s%s", what, name, hint)
}

// resolve returns the field a name (or alias) names, or nil.
func resolve(name string) *fields.Field { return fields.Lookup(name) }

// vtype is what a compiled operand is.
type vtype uint8

const (
	tInt vtype = iota + 1
	tStr
	tBool
	tNil
	tIntList
	tStrList
	tObjList
)

// value is a compiled operand: a constant, or getters that report
// whether the event has the value.
type value struct {
	t     vtype
	konst bool
	i     int64
	s     string
	b     bool

	getI func(*tracer.Event) (int64, bool)
	getS func(*tracer.Event) ([]byte, bool)
	getB func(*tracer.Event) (bool, bool)
	// lists: n reports the length, or false when the kind has no such list
	n   func(*tracer.Event) (int, bool)
	atI func(*tracer.Event, int) int64
	atS func(*tracer.Event, int) []byte

	kinds fields.Kinds // where it may be present
	field *fields.Field
}

// cond is a compiled boolean: fn, and the event kinds it can be true of.
type cond struct {
	fn    func(*tracer.Event) bool
	kinds fields.Kinds
}

type compiler struct{ src string }

func (c *compiler) errAt(n ast.Node, format string, args ...any) error {
	return errAt(c.src, n.Location(), format, args...)
}

func constCond(b bool) cond {
	if b {
		return cond{fn: func(*tracer.Event) bool { return true }, kinds: fields.AllKinds}
	}
	return cond{fn: func(*tracer.Event) bool { return false }}
}

// cond compiles a node that must be true or false.
func (c *compiler) cond(n ast.Node) (cond, error) {
	switch n := n.(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and":
			l, err := c.cond(n.Left)
			if err != nil {
				return cond{}, err
			}
			r, err := c.cond(n.Right)
			if err != nil {
				return cond{}, err
			}
			lf, rf := l.fn, r.fn
			return cond{fn: func(ev *tracer.Event) bool { return lf(ev) && rf(ev) }, kinds: l.kinds & r.kinds}, nil
		case "||", "or":
			l, err := c.cond(n.Left)
			if err != nil {
				return cond{}, err
			}
			r, err := c.cond(n.Right)
			if err != nil {
				return cond{}, err
			}
			lf, rf := l.fn, r.fn
			return cond{fn: func(ev *tracer.Event) bool { return lf(ev) || rf(ev) }, kinds: l.kinds | r.kinds}, nil
		case "==", "!=", "<", "<=", ">", ">=":
			return c.compare(n)
		case "in":
			return c.in(n)
		case "matches", "contains", "startsWith", "endsWith":
			return c.stringOp(n)
		}
	case *ast.ConditionalNode:
		var cs [3]cond
		for i, part := range []ast.Node{n.Cond, n.Exp1, n.Exp2} {
			var err error
			if cs[i], err = c.cond(part); err != nil {
				return cond{}, err
			}
		}
		cf, af, bf := cs[0].fn, cs[1].fn, cs[2].fn
		return cond{fn: func(ev *tracer.Event) bool {
			if cf(ev) {
				return af(ev)
			}
			return bf(ev)
		}, kinds: cs[1].kinds | cs[2].kinds}, nil
	case *ast.UnaryNode:
		if n.Operator == "!" || n.Operator == "not" {
			x, err := c.cond(n.Node)
			if err != nil {
				return cond{}, err
			}
			xf := x.fn
			return cond{fn: func(ev *tracer.Event) bool { return !xf(ev) }, kinds: fields.AllKinds}, nil
		}
	}
	v, err := c.value(n)
	if err != nil {
		return cond{}, err
	}
	if v.t != tBool {
		return cond{}, c.errAt(n, "want something true or false here, like a comparison")
	}
	if v.konst {
		return constCond(v.b), nil
	}
	get := v.getB
	return cond{fn: func(ev *tracer.Event) bool { b, ok := get(ev); return ok && b }, kinds: v.kinds}, nil
}

// value compiles an operand.
func (c *compiler) value(n ast.Node) (value, error) {
	switch n := n.(type) {
	case *ast.IdentifierNode, *ast.MemberNode:
		name, ok := dotted(n)
		if !ok {
			return value{}, c.errAt(n, "indexing and method calls are not supported in filters")
		}
		if k, ok := constants[name]; ok {
			return value{t: tInt, konst: true, i: k, kinds: fields.AllKinds}, nil
		}
		f := resolve(name)
		if f == nil {
			if isPrefix(name) {
				return value{}, c.errAt(n, "%s is an object: compare one of its fields (%s)", name, strings.Join(children(name), ", "))
			}
			return value{}, unknownName(c.src, start(n), name)
		}
		return c.fieldValue(n, f)
	case *ast.IntegerNode:
		return value{t: tInt, konst: true, i: int64(n.Value), kinds: fields.AllKinds}, nil
	case *ast.StringNode:
		return value{t: tStr, konst: true, s: n.Value, kinds: fields.AllKinds}, nil
	case *ast.BoolNode:
		return value{t: tBool, konst: true, b: n.Value, kinds: fields.AllKinds}, nil
	case *ast.NilNode:
		return value{t: tNil, konst: true, kinds: fields.AllKinds}, nil
	case *ast.FloatNode:
		return value{}, c.errAt(n, "numbers in filters are integers")
	case *ast.UnaryNode:
		switch n.Operator {
		case "-", "+":
			x, err := c.value(n.Node)
			if err != nil {
				return value{}, err
			}
			if x.t != tInt {
				return value{}, c.errAt(n, "%s needs a number", n.Operator)
			}
			if n.Operator == "+" {
				return x, nil
			}
			if x.konst {
				x.i = -x.i
				return x, nil
			}
			get := x.getI
			x.getI = func(ev *tracer.Event) (int64, bool) { v, ok := get(ev); return -v, ok }
			x.field = nil
			return x, nil
		case "!", "not":
			cd, err := c.cond(n)
			if err != nil {
				return value{}, err
			}
			return condValue(cd), nil
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "+", "-", "*", "%":
			return c.arith(n)
		case "&&", "and", "||", "or", "==", "!=", "<", "<=", ">", ">=", "in", "matches", "contains", "startsWith", "endsWith":
			cd, err := c.cond(n)
			if err != nil {
				return value{}, err
			}
			return condValue(cd), nil
		}
	case *ast.BuiltinNode:
		if n.Name == "len" && len(n.Arguments) == 1 {
			return c.length(n)
		}
		return value{}, c.errAt(n, "%s() is not supported in filters (only len())", n.Name)
	case *ast.ArrayNode:
		return value{}, c.errAt(n, "a list goes after in: sig in [SIGTERM, SIGKILL]")
	}
	return value{}, c.errAt(n, "this is not supported in filters")
}

func condValue(cd cond) value {
	fn := cd.fn
	return value{t: tBool, getB: func(ev *tracer.Event) (bool, bool) { return fn(ev), true }, kinds: fields.AllKinds}
}

// children lists up to four fields of the object name.
func children(name string) []string {
	var out []string
	for _, f := range fields.All() {
		if rest, ok := strings.CutPrefix(f.Name, name+"."); ok && !strings.Contains(rest, ".") {
			out = append(out, f.Name)
			if len(out) == 4 {
				out = append(out, "...")
				break
			}
		}
	}
	return out
}

// fieldValue reads a registry field through its typed getter. Strings
// are appended to a buffer of this operand's own, reused for every event.
func (c *compiler) fieldValue(n ast.Node, f *fields.Field) (value, error) {
	v := value{kinds: f.Kinds, field: f}
	switch f.Type {
	case fields.Int, fields.Duration:
		get := f.Int
		v.t = tInt
		v.getI = func(ev *tracer.Event) (int64, bool) {
			if !f.On(ev) {
				return 0, false
			}
			return get(ev), true
		}
	case fields.Uint:
		get := f.Uint
		v.t = tInt
		v.getI = func(ev *tracer.Event) (int64, bool) {
			if !f.On(ev) {
				return 0, false
			}
			return int64(get(ev)), true
		}
	case fields.String:
		get := f.Str
		buf := make([]byte, 0, 64)
		v.t = tStr
		v.getS = func(ev *tracer.Event) ([]byte, bool) {
			if !f.On(ev) {
				return nil, false
			}
			buf = get(buf[:0], ev)
			return buf, true
		}
	case fields.Bool:
		get := f.Bool
		kinds := f.Kinds
		v.t = tBool
		v.getB = func(ev *tracer.Event) (bool, bool) {
			if !kinds.Has(ev.Type) {
				return false, false
			}
			return get(ev), true
		}
	case fields.List:
		kinds := f.Kinds
		length := f.Len
		v.n = func(ev *tracer.Event) (int, bool) {
			if !kinds.Has(ev.Type) {
				return 0, false
			}
			return length(ev), true
		}
		switch f.Elem {
		case fields.Uint:
			at := f.UintAt
			v.t = tIntList
			v.atI = func(ev *tracer.Event, i int) int64 { return int64(at(ev, i)) }
		case fields.String:
			at := f.StrAt
			buf := make([]byte, 0, 64)
			v.t = tStrList
			v.atS = func(ev *tracer.Event, i int) []byte { buf = at(buf[:0], ev, i); return buf }
		default:
			v.t = tObjList
		}
	default:
		return value{}, c.errAt(n, "%s is a %s: filters cannot use it yet", f.Name, f.TypeString())
	}
	return v, nil
}

// length compiles len(list) or len(string).
func (c *compiler) length(n *ast.BuiltinNode) (value, error) {
	x, err := c.value(n.Arguments[0])
	if err != nil {
		return value{}, err
	}
	switch x.t {
	case tIntList, tStrList, tObjList:
		return value{t: tInt, getI: func(ev *tracer.Event) (int64, bool) { l, ok := x.n(ev); return int64(l), ok }, kinds: x.kinds}, nil
	case tStr:
		if x.konst {
			return value{t: tInt, konst: true, i: int64(len(x.s)), kinds: fields.AllKinds}, nil
		}
		get := x.getS
		return value{t: tInt, getI: func(ev *tracer.Event) (int64, bool) { s, ok := get(ev); return int64(len(s)), ok }, kinds: x.kinds}, nil
	}
	return value{}, c.errAt(n, "len() takes a list or a string")
}

func (c *compiler) arith(n *ast.BinaryNode) (value, error) {
	l, err := c.value(n.Left)
	if err != nil {
		return value{}, err
	}
	r, err := c.value(n.Right)
	if err != nil {
		return value{}, err
	}
	if l.t != tInt || r.t != tInt {
		return value{}, c.errAt(n, "%s needs numbers", n.Operator)
	}
	var op func(a, b int64) (int64, bool)
	switch n.Operator {
	case "+":
		op = func(a, b int64) (int64, bool) { return a + b, true }
	case "-":
		op = func(a, b int64) (int64, bool) { return a - b, true }
	case "*":
		op = func(a, b int64) (int64, bool) { return a * b, true }
	case "%":
		op = func(a, b int64) (int64, bool) {
			if b == 0 {
				return 0, false // no value: every comparison with it is false
			}
			return a % b, true
		}
	}
	if l.konst && r.konst {
		v, ok := op(l.i, r.i)
		if !ok {
			return value{}, c.errAt(n, "division by zero")
		}
		return value{t: tInt, konst: true, i: v, kinds: fields.AllKinds}, nil
	}
	lg, rg := intGetter(l), intGetter(r)
	return value{t: tInt, kinds: l.kinds & r.kinds, getI: func(ev *tracer.Event) (int64, bool) {
		a, ok := lg(ev)
		if !ok {
			return 0, false
		}
		b, ok := rg(ev)
		if !ok {
			return 0, false
		}
		return op(a, b)
	}}, nil
}

func intGetter(v value) func(*tracer.Event) (int64, bool) {
	if v.konst {
		k := v.i
		return func(*tracer.Event) (int64, bool) { return k, true }
	}
	return v.getI
}

func strGetter(v value) func(*tracer.Event) ([]byte, bool) {
	if v.konst {
		k := []byte(v.s)
		return func(*tracer.Event) ([]byte, bool) { return k, true }
	}
	return v.getS
}

func boolGetter(v value) func(*tracer.Event) (bool, bool) {
	if v.konst {
		k := v.b
		return func(*tracer.Event) (bool, bool) { return k, true }
	}
	return v.getB
}

// isComm: a command name, of which the kernel keeps 15 bytes.
func isComm(v value) bool {
	return v.field != nil && (strings.HasSuffix(v.field.Name, ".comm") || strings.HasSuffix(v.field.Name, ".thread_comm"))
}

// checkComm refuses a command name the kernel could never report.
func (c *compiler) checkComm(n ast.Node, field value, s string) error {
	if isComm(field) && len(s) > maxCommLen {
		return c.errAt(n, "%s is at most %d bytes (the kernel keeps no more of a command name): %q never matches; write %q", field.field.Name, maxCommLen, s, s[:maxCommLen])
	}
	return nil
}

func (c *compiler) compare(n *ast.BinaryNode) (cond, error) {
	l, err := c.value(n.Left)
	if err != nil {
		return cond{}, err
	}
	r, err := c.value(n.Right)
	if err != nil {
		return cond{}, err
	}
	op := n.Operator
	kinds := l.kinds & r.kinds
	if l.t == tNil || r.t == tNil {
		return c.nilCompare(n, l, r)
	}
	if l.t != r.t {
		return cond{}, c.errAt(n, "cannot compare %s with %s", l.describe(), r.describe())
	}
	if l.t == tStr {
		for _, p := range [][2]value{{l, r}, {r, l}} {
			if p[1].konst {
				if err := c.checkComm(n, p[0], p[1].s); err != nil {
					return cond{}, err
				}
			}
		}
	}
	if l.konst && r.konst {
		return constCond(constCompare(op, l, r)), nil
	}
	// Keep a constant on the right: the fast paths below read one getter.
	if l.konst {
		l, r = r, l
		op = mirror(op)
	}
	switch l.t {
	case tInt:
		get := l.getI
		if r.konst {
			k := r.i
			switch op {
			case "==":
				return cond{fn: func(ev *tracer.Event) bool { v, ok := get(ev); return ok && v == k }, kinds: kinds}, nil
			case "!=":
				return cond{fn: func(ev *tracer.Event) bool { v, ok := get(ev); return ok && v != k }, kinds: kinds}, nil
			}
			cmp := intCmp(op)
			return cond{fn: func(ev *tracer.Event) bool { v, ok := get(ev); return ok && cmp(v, k) }, kinds: kinds}, nil
		}
		rg := r.getI
		cmp := intCmp(op)
		return cond{fn: func(ev *tracer.Event) bool {
			a, ok := get(ev)
			if !ok {
				return false
			}
			b, ok := rg(ev)
			return ok && cmp(a, b)
		}, kinds: kinds}, nil
	case tStr:
		get := l.getS
		if r.konst {
			k := r.s
			switch op {
			case "==":
				return cond{fn: func(ev *tracer.Event) bool { v, ok := get(ev); return ok && string(v) == k }, kinds: typeKinds(l, kinds, []string{k}, false)}, nil
			case "!=":
				return cond{fn: func(ev *tracer.Event) bool { v, ok := get(ev); return ok && string(v) != k }, kinds: typeKinds(l, kinds, []string{k}, true)}, nil
			}
		}
		rg := strGetter(r)
		cmp := intCmp(op)
		return cond{fn: func(ev *tracer.Event) bool {
			a, ok := get(ev)
			if !ok {
				return false
			}
			b, ok := rg(ev)
			return ok && cmp(int64(bytes.Compare(a, b)), 0)
		}, kinds: kinds}, nil
	case tBool:
		if op != "==" && op != "!=" {
			return cond{}, c.errAt(n, "%s compares numbers or strings, not true or false", op)
		}
		lg, rg := l.getB, boolGetter(r)
		eq := op == "=="
		return cond{fn: func(ev *tracer.Event) bool {
			a, ok := lg(ev)
			if !ok {
				return false
			}
			b, ok := rg(ev)
			return ok && (a == b) == eq
		}, kinds: kinds}, nil
	}
	return cond{}, c.errAt(n, "cannot compare %s", l.describe())
}

// nilCompare: field == nil is true when the event does not carry it.
func (c *compiler) nilCompare(n *ast.BinaryNode, l, r value) (cond, error) {
	if n.Operator != "==" && n.Operator != "!=" {
		return cond{}, c.errAt(n, "nil only goes with == and != (is the field there or not)")
	}
	x := l
	if l.t == tNil {
		x = r
	}
	if x.t == tNil {
		return constCond(n.Operator == "=="), nil
	}
	if x.konst || x.field == nil {
		return constCond(n.Operator == "!="), nil
	}
	f := x.field
	on := func(ev *tracer.Event) bool { return f.On(ev) }
	if f.Type == fields.List || f.Type == fields.Bool {
		on = func(ev *tracer.Event) bool { return f.Kinds.Has(ev.Type) }
	}
	if n.Operator == "==" {
		return cond{fn: func(ev *tracer.Event) bool { return !on(ev) }, kinds: fields.AllKinds}, nil
	}
	return cond{fn: on, kinds: f.Kinds}, nil
}

func (v value) describe() string {
	switch v.t {
	case tInt:
		return "a number"
	case tStr:
		return "a string"
	case tBool:
		return "true or false"
	case tIntList:
		return "a list of numbers"
	case tStrList:
		return "a list of strings"
	case tObjList:
		return "a list of objects"
	}
	return "nil"
}

func mirror(op string) string {
	switch op {
	case "<":
		return ">"
	case ">":
		return "<"
	case "<=":
		return ">="
	case ">=":
		return "<="
	}
	return op
}

func intCmp(op string) func(a, b int64) bool {
	switch op {
	case "==":
		return func(a, b int64) bool { return a == b }
	case "!=":
		return func(a, b int64) bool { return a != b }
	case "<":
		return func(a, b int64) bool { return a < b }
	case "<=":
		return func(a, b int64) bool { return a <= b }
	case ">":
		return func(a, b int64) bool { return a > b }
	}
	return func(a, b int64) bool { return a >= b }
}

func constCompare(op string, l, r value) bool {
	var d int64
	switch l.t {
	case tInt:
		d = int64(cmpInt(l.i, r.i))
	case tStr:
		d = int64(strings.Compare(l.s, r.s))
	case tBool:
		if l.b != r.b {
			d = 1
		}
	}
	return intCmp(op)(d, 0)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// in compiles x in [constants], x in A..B and x in list-field.
func (c *compiler) in(n *ast.BinaryNode) (cond, error) {
	l, err := c.value(n.Left)
	if err != nil {
		return cond{}, err
	}
	if arr, ok := n.Right.(*ast.ArrayNode); ok {
		return c.inArray(n, l, arr)
	}
	if rng, ok := n.Right.(*ast.BinaryNode); ok && rng.Operator == ".." {
		lo, err := c.constInt(rng.Left)
		if err != nil {
			return cond{}, err
		}
		hi, err := c.constInt(rng.Right)
		if err != nil {
			return cond{}, err
		}
		if l.t != tInt {
			return cond{}, c.errAt(n, "a range holds numbers, not %s", l.describe())
		}
		if l.konst {
			return constCond(l.i >= lo && l.i <= hi), nil
		}
		get := l.getI
		return cond{fn: func(ev *tracer.Event) bool { v, ok := get(ev); return ok && v >= lo && v <= hi }, kinds: l.kinds}, nil
	}
	r, err := c.value(n.Right)
	if err != nil {
		return cond{}, err
	}
	kinds := l.kinds & r.kinds
	switch {
	case r.t == tIntList && l.t == tInt:
		x, length, at := intGetter(l), r.n, r.atI
		return cond{fn: func(ev *tracer.Event) bool {
			v, ok := x(ev)
			if !ok {
				return false
			}
			m, ok := length(ev)
			for i := 0; ok && i < m; i++ {
				if at(ev, i) == v {
					return true
				}
			}
			return false
		}, kinds: kinds}, nil
	case r.t == tStrList && l.t == tStr:
		if l.konst {
			if err := c.checkComm(n, r, l.s); err != nil {
				return cond{}, err
			}
		}
		x, length, at := strGetter(l), r.n, r.atS
		return cond{fn: func(ev *tracer.Event) bool {
			v, ok := x(ev)
			if !ok {
				return false
			}
			m, ok := length(ev)
			for i := 0; ok && i < m; i++ {
				if bytes.Equal(at(ev, i), v) {
					return true
				}
			}
			return false
		}, kinds: kinds}, nil
	}
	return cond{}, c.errAt(n, "in needs a list of the same type on its right (got %s in %s)", l.describe(), r.describe())
}

func (c *compiler) constInt(n ast.Node) (int64, error) {
	v, err := c.value(n)
	if err != nil {
		return 0, err
	}
	if v.t != tInt || !v.konst {
		return 0, c.errAt(n, "want a number constant here")
	}
	return v.i, nil
}

func (c *compiler) inArray(n *ast.BinaryNode, l value, arr *ast.ArrayNode) (cond, error) {
	var ints []int64
	var strs []string
	for _, e := range arr.Nodes {
		v, err := c.value(e)
		if err != nil {
			return cond{}, err
		}
		if !v.konst || v.t != l.t || (v.t != tInt && v.t != tStr) {
			return cond{}, c.errAt(e, "the list after in holds constants of the type of what is looked up (%s)", l.describe())
		}
		if v.t == tInt {
			ints = append(ints, v.i)
		} else {
			if err := c.checkComm(e, l, v.s); err != nil {
				return cond{}, err
			}
			strs = append(strs, v.s)
		}
	}
	if l.konst {
		if l.t == tInt {
			return constCond(slices.Contains(ints, l.i)), nil
		}
		return constCond(slices.Contains(strs, l.s)), nil
	}
	switch l.t {
	case tInt:
		get := l.getI
		if len(ints) > 8 {
			set := map[int64]bool{}
			for _, i := range ints {
				set[i] = true
			}
			return cond{fn: func(ev *tracer.Event) bool { v, ok := get(ev); return ok && set[v] }, kinds: l.kinds}, nil
		}
		return cond{fn: func(ev *tracer.Event) bool {
			v, ok := get(ev)
			return ok && slices.Contains(ints, v)
		}, kinds: l.kinds}, nil
	case tStr:
		get := l.getS
		kinds := typeKinds(l, l.kinds, strs, false)
		if len(strs) > 8 {
			set := map[string]bool{}
			for _, s := range strs {
				set[s] = true
			}
			return cond{fn: func(ev *tracer.Event) bool { v, ok := get(ev); return ok && set[string(v)] }, kinds: kinds}, nil
		}
		return cond{fn: func(ev *tracer.Event) bool {
			v, ok := get(ev)
			if !ok {
				return false
			}
			for _, s := range strs {
				if string(v) == s {
					return true
				}
			}
			return false
		}, kinds: kinds}, nil
	}
	return cond{}, c.errAt(n, "in [...] looks up a number or a string")
}

// stringOp compiles matches, contains, startsWith and endsWith.
func (c *compiler) stringOp(n *ast.BinaryNode) (cond, error) {
	l, err := c.value(n.Left)
	if err != nil {
		return cond{}, err
	}
	r, err := c.value(n.Right)
	if err != nil {
		return cond{}, err
	}
	if l.t != tStr || r.t != tStr {
		return cond{}, c.errAt(n, "%s works on strings, not %s and %s", n.Operator, l.describe(), r.describe())
	}
	kinds := l.kinds & r.kinds
	if n.Operator == "matches" {
		if !r.konst {
			return cond{}, c.errAt(n.Right, "the pattern after matches must be a string constant")
		}
		re, err := regexp.Compile(r.s)
		if err != nil {
			return cond{}, c.errAt(n.Right, "bad regular expression: %v", err)
		}
		if l.konst {
			return constCond(re.MatchString(l.s)), nil
		}
		get := l.getS
		return cond{fn: func(ev *tracer.Event) bool { v, ok := get(ev); return ok && re.Match(v) }, kinds: kinds}, nil
	}
	var op func(a, b []byte) bool
	switch n.Operator {
	case "contains":
		op = bytes.Contains
	case "startsWith":
		op = bytes.HasPrefix
	default:
		op = bytes.HasSuffix
	}
	if l.konst && r.konst {
		return constCond(op([]byte(l.s), []byte(r.s))), nil
	}
	lg, rg := strGetter(l), strGetter(r)
	return cond{fn: func(ev *tracer.Event) bool {
		a, ok := lg(ev)
		if !ok {
			return false
		}
		b, ok := rg(ev)
		return ok && op(a, b)
	}, kinds: kinds}, nil
}

// typeKinds narrows the kinds a comparison of the field type with names
// can be true of: type == "exit" only of exits, type != "exit" of all
// others.
func typeKinds(v value, kinds fields.Kinds, names []string, negate bool) fields.Kinds {
	if v.field == nil || v.field.Name != "type" {
		return kinds
	}
	var k fields.Kinds
	for _, t := range fields.EventKinds {
		if slices.Contains(names, t.String()) != negate {
			k |= fields.KindsOf(t)
		}
	}
	return kinds & k
}
