// Package tmpl is `sigtrace trace --format TEMPLATE`: Go text/template
// syntax over the JSON field names of the fields registry
// (`{{.sender.comm}} -> {{.target.comm}} {{.signal.name}}`), one line per
// event.
//
// A template is parsed by text/template itself, so its syntax and its
// errors are text/template's. Every field chain it names is then checked
// against the registry before tracing starts (an unknown name fails with
// the closest names). The parse tree is compiled, when it uses only the
// common subset, into a list of parts: literal text, registry getters and
// the helpers below, which render an event without allocating. Anything
// else text/template can do (range, with, variables, comparisons, printf,
// ...) runs in real text/template over a nested map built per event: the
// same output, at the cost of allocations.
//
// The compiled subset is: text; {{.a.b}}; {{FUNC ARGS}} and
// {{.a.b | FUNC ARGS}} for the helpers; {{if .a.b}} ... {{else}} ...
// {{end}} on one field (true when the event carries it and it is not
// zero, empty or false).
//
// Helpers:
//
//	json X           X as JSON: a quoted string, a number, true/false, an array
//	time [LAYOUT] T  a time in a Go layout (default 15:04:05.000000); "unix" for seconds.ns
//	dur D            nanoseconds as 850ns, 12.3µs, 4.5ms, 1.2s
//	join SEP LIST    a list's elements joined by SEP
//	chain [SEP] P    a process and its parents: pkill[789] ← sh ← cron (SEP: " ← ")
//
// Every value is written under output's one sanitising policy
// (AppendSafe): a command name holding escape sequences cannot reach the
// terminal raw. json quotes with the JSON renderer's escaping, which is
// safe on a terminal too. A field an event does not carry renders as
// nothing; a list renders its elements separated by commas.
package tmpl

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/tracer"
)

// Template is a compiled --format template. It keeps scratch memory from
// one event to the next and is for one goroutine.
type Template struct {
	parts    []part             // the compiled form, when the template fits the subset
	fallback *template.Template // otherwise
	why      string             // why it fell back
	tmp      []byte
	fb       fallbackState
	// OnError is called (once) with the first error executing a template
	// that fell back; that event renders as nothing.
	OnError  func(error)
	reported bool
}

// part appends one piece of an event's line.
type part func(t *Template, dst []byte, ev *tracer.Event) []byte

// Compile parses text and checks every field it names against the
// registry.
func Compile(text string) (*Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("--format: empty template (e.g. --format '{{.sender.comm}} -> {{.target.comm}} {{.signal.name}}')")
	}
	tt, err := template.New("format").Funcs(fallbackFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("--format: %s", cleanParseError(err))
	}
	if len(tt.Templates()) > 1 {
		// {{define}}, {{block}}: text/template runs it. Dot and $ are
		// the event in the main template only, which is checked; in the
		// others they are whatever {{template}} passes.
		if tt.Tree != nil {
			if err := checkTree(tt.Tree.Root, true); err != nil {
				return nil, err
			}
		}
		return &Template{fallback: tt.Option("missingkey=zero"), why: "define"}, nil
	}
	if tt.Tree == nil || tt.Tree.Root == nil {
		return nil, errors.New("--format: empty template")
	}
	if err := checkTree(tt.Tree.Root, true); err != nil {
		return nil, err
	}
	t := &Template{tmp: make([]byte, 0, 256)}
	c := compiler{}
	parts, err := c.list(tt.Tree.Root)
	if err != nil {
		var fb fallBack
		if errors.As(err, &fb) {
			t.fallback = tt.Option("missingkey=zero")
			t.why = string(fb)
			return t, nil
		}
		return nil, err
	}
	t.parts = parts
	return t, nil
}

// Compiled reports whether the template runs compiled (no allocation per
// event) and, when not, which construct made it fall back to
// text/template.
func (t *Template) Compiled() (bool, string) { return t.fallback == nil, t.why }

// AppendEvent appends the template's text for ev, without a newline.
func (t *Template) AppendEvent(dst []byte, ev *tracer.Event) []byte {
	if t.fallback != nil {
		return t.execFallback(dst, ev)
	}
	for _, p := range t.parts {
		dst = p(t, dst, ev)
	}
	return dst
}

// AppendHeader: a template has no header line.
func (t *Template) AppendHeader(b []byte) []byte { return b }

// AppendRow is AppendEvent as one line (output.Renderer). A line the
// template renders empty is still a line, so each event is one.
func (t *Template) AppendRow(b []byte, ev *tracer.Event) []byte {
	return append(t.AppendEvent(b, ev), '\n')
}

func cleanParseError(err error) string {
	s := err.Error()
	// "template: format:1: function "x" not defined"
	s = strings.TrimPrefix(s, "template: ")
	s = strings.TrimPrefix(s, "format:")
	return s
}

// checkTree checks the field chains of n against the registry. top: dot
// is the event (not inside range or with, where it is something else).
func checkTree(n parse.Node, top bool) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkTree(c, top); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return checkTree(n.Pipe, top)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := checkTree(c, top); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if err := checkTree(a, top); err != nil {
				return err
			}
		}
	case *parse.FieldNode:
		if top {
			return checkChain(n.Ident)
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			return checkChain(n.Ident[1:])
		}
	case *parse.ChainNode:
		return checkTree(n.Node, top)
	case *parse.IfNode:
		return checkBranch(&n.BranchNode, top, top)
	case *parse.RangeNode:
		return checkBranch(&n.BranchNode, top, false)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode, top, false)
	case *parse.TemplateNode:
		return checkTree(n.Pipe, top)
	}
	return nil
}

func checkBranch(b *parse.BranchNode, top, inside bool) error {
	if err := checkTree(b.Pipe, top); err != nil {
		return err
	}
	if err := checkTree(b.List, inside); err != nil {
		return err
	}
	// else runs with dot unchanged.
	return checkTree(b.ElseList, top)
}

// checkChain checks .a.b.c: a field, or an object that has fields.
func checkChain(ident []string) error {
	name := strings.Join(ident, ".")
	if fields.Lookup(name) != nil || fields.IsObject(name) {
		return nil
	}
	// .sender.comm.x: a field does not have fields.
	for i := len(ident) - 1; i > 0; i-- {
		if f := fields.Lookup(strings.Join(ident[:i], ".")); f != nil && !(f.Type == fields.List && f.Elem == fields.Object) {
			return fmt.Errorf("--format: .%s: %s is a %s, it has no field %s", name, f.Name, f.TypeString(), ident[i])
		}
	}
	return fmt.Errorf("--format: unknown field .%s%s (sigtrace fields lists them)", name, suggest(name))
}
