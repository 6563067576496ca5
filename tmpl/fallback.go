package tmpl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tracer"
)

// The fallback runs real text/template over a nested map of the event,
// built per event from the registry. Its values print as the compiled
// form prints them, sanitised: text is a safeText, whose String is
// output.SafeString; lists join with commas; a field the event does not
// carry is an empty safeText (prints nothing, false in if).

// safeText is text from the kernel or users.
type safeText string

func (s safeText) String() string { return output.SafeString(string(s)) }

func (s safeText) MarshalJSON() ([]byte, error) {
	return output.AppendJSONString(nil, []byte(s)), nil
}

// timeVal prints as the JSON does.
type timeVal struct{ time.Time }

func (t timeVal) String() string { return t.Format(fields.TimeLayout) }

func (t timeVal) MarshalJSON() ([]byte, error) { return []byte(`"` + t.String() + `"`), nil }

type strList []safeText

func (l strList) String() string {
	parts := make([]string, len(l))
	for i, s := range l {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

type uintList []uint64

func (l uintList) String() string {
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(parts, ",")
}

// procList is a list of {pid, comm} (an ancestry).
type procList []map[string]any

func (l procList) String() string { return joinProcs(l, " ← ") }

func joinProcs(l procList, sep string) string {
	parts := make([]string, len(l))
	for i, p := range l {
		parts[i] = fmt.Sprint(p["comm"]) + "[" + fmt.Sprint(p["pid"]) + "]"
	}
	return strings.Join(parts, sep)
}

type fallbackState struct {
	buf bytes.Buffer
}

var fallbackFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"time": func(args ...any) (string, error) {
		layout := DefaultTime
		if len(args) == 2 {
			s, ok := args[0].(string)
			if !ok {
				return "", fmt.Errorf("time: the layout is a string")
			}
			layout, args = s, args[1:]
		}
		if len(args) != 1 {
			return "", fmt.Errorf("time takes an optional layout and a time")
		}
		t, ok := args[0].(timeVal)
		if !ok {
			return "", nil // absent
		}
		if layout == "unix" {
			return string(appendUnix(nil, t.Time)), nil
		}
		return t.Format(layout), nil
	},
	"dur": func(v any) (string, error) {
		switch n := v.(type) {
		case int64:
			return string(appendDuration(nil, n)), nil
		case uint64:
			return string(appendDuration(nil, int64(n))), nil
		case safeText:
			return "", nil // absent
		}
		return "", fmt.Errorf("dur takes a duration, not %T", v)
	},
	"join": func(sep string, v any) (string, error) {
		switch l := v.(type) {
		case strList:
			parts := make([]string, len(l))
			for i, s := range l {
				parts[i] = s.String()
			}
			return strings.Join(parts, sep), nil
		case uintList:
			parts := make([]string, len(l))
			for i, n := range l {
				parts[i] = strconv.FormatUint(n, 10)
			}
			return strings.Join(parts, sep), nil
		case procList:
			return joinProcs(l, sep), nil
		case safeText:
			return "", nil // absent
		}
		return "", fmt.Errorf("join takes a list, not %T", v)
	},
	"chain": func(args ...any) (string, error) {
		sep := " ← "
		if len(args) == 2 {
			s, ok := args[0].(string)
			if !ok {
				return "", fmt.Errorf("chain: the separator is a string")
			}
			sep, args = s, args[1:]
		}
		if len(args) != 1 {
			return "", fmt.Errorf("chain takes an optional separator and a process")
		}
		p, ok := args[0].(map[string]any)
		if !ok {
			return "", fmt.Errorf("chain takes a process (.sender, .killer), not %T", args[0])
		}
		if c, _ := p["comm"].(safeText); c == "" {
			if r, _ := p["reason"].(safeText); r != "" {
				return "kernel (" + r.String() + ")", nil
			}
			return "", nil
		}
		s := fmt.Sprint(p["comm"]) + "[" + fmt.Sprint(p["pid"]) + "]"
		if anc, ok := p["ancestry"].(procList); ok && len(anc) > 0 {
			s += sep + joinProcs(anc, sep)
		}
		return s, nil
	},
}

// data builds the nested map of ev: every registry field, the ones ev
// does not carry as empty text.
func data(ev *tracer.Event) map[string]any {
	root := map[string]any{}
	var tmp []byte
	for i := range fields.All() {
		f := &fields.All()[i]
		parts := strings.Split(f.Name, ".")
		m := root
		skip := false
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p]
			if !ok {
				nm := map[string]any{}
				m[p] = nm
				m = nm
				continue
			}
			nm, ok := next.(map[string]any)
			if !ok {
				skip = true // an element field of a list of objects
				break
			}
			m = nm
		}
		if skip {
			continue
		}
		leaf := parts[len(parts)-1]
		if !f.On(ev) {
			m[leaf] = safeText("")
			continue
		}
		switch f.Type {
		case fields.Int, fields.Duration:
			m[leaf] = f.Int(ev)
		case fields.Uint:
			m[leaf] = f.Uint(ev)
		case fields.Bool:
			m[leaf] = f.Bool(ev)
		case fields.String:
			tmp = f.Str(tmp[:0], ev)
			m[leaf] = safeText(tmp)
		case fields.Time:
			m[leaf] = timeVal{f.Time(ev)}
		case fields.List:
			n := f.Len(ev)
			switch f.Elem {
			case fields.String:
				l := make(strList, n)
				for j := range n {
					tmp = f.StrAt(tmp[:0], ev, j)
					l[j] = safeText(tmp)
				}
				m[leaf] = l
			case fields.Uint:
				l := make(uintList, n)
				for j := range n {
					l[j] = f.UintAt(ev, j)
				}
				m[leaf] = l
			case fields.Object:
				pids, comms := fields.Lookup(f.Name+".pid"), fields.Lookup(f.Name+".comm")
				l := make(procList, n)
				for j := range n {
					tmp = comms.StrAt(tmp[:0], ev, j)
					l[j] = map[string]any{"pid": pids.UintAt(ev, j), "comm": safeText(tmp)}
				}
				m[leaf] = l
			}
		}
	}
	for alias, full := range fields.Aliases {
		root[alias] = lookupPath(root, full)
	}
	return root
}

func lookupPath(m map[string]any, path string) any {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return safeText("")
		}
		m = next
	}
	return m[parts[len(parts)-1]]
}

func (t *Template) execFallback(dst []byte, ev *tracer.Event) []byte {
	t.fb.buf.Reset()
	if err := t.fallback.Execute(&t.fb.buf, data(ev)); err != nil {
		if !t.reported && t.OnError != nil {
			t.reported = true
			t.OnError(fmt.Errorf("--format: %s", cleanParseError(err)))
		}
		return dst
	}
	return append(dst, t.fb.buf.Bytes()...)
}

func suggest(name string) string {
	c := fields.Closest(name, 4)
	if len(c) == 0 {
		return ""
	}
	return "; did you mean ." + strings.Join(c, ", .") + "?"
}
