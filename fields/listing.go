package fields

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// ParseKinds reads a comma-separated list of event types ("generate,exit");
// "" or "all" is every type.
func ParseKinds(s string) (Kinds, error) {
	if s == "" || s == "all" {
		return AllKinds, nil
	}
	var k Kinds
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, t := range EventKinds {
			if t.String() == name {
				k |= KindsOf(t)
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown event type %q (want %s)", name, strings.Join(kindNames(), ", "))
		}
	}
	return k, nil
}

// Select returns the fields events of any of the kinds k may carry, in
// All's order.
func Select(k Kinds) []*Field {
	var out []*Field
	for i := range registry {
		if registry[i].Kinds&k != 0 {
			out = append(out, &registry[i])
		}
	}
	return out
}

// meaning is the doc line with the values, when a fixed set.
func (f *Field) meaning(sep string) string {
	if f.Values == nil {
		return f.Doc
	}
	return f.Doc + " (" + strings.Join(f.Values, sep) + ")"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// WriteTable lists fs for people: name, type, event types, whether the
// kernel can decide it, meaning.
func WriteTable(w io.Writer, fs []*Field) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tTYPE\tEVENTS\tKERNEL\tMEANING")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, f.TypeString(), f.Kinds, yesNo(f.Kernel), f.meaning(", "))
	}
	return tw.Flush()
}

// listed is a field as WriteJSON gives it.
type listed struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Events []string `json:"events"`
	Kernel bool     `json:"kernel"`
	Doc    string   `json:"doc"`
	Values []string `json:"values,omitempty"`
}

// WriteJSON lists fs as one JSON object per line: name, type, events,
// kernel, doc and values.
func WriteJSON(w io.Writer, fs []*Field) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, f := range fs {
		var events []string
		for _, t := range EventKinds {
			if f.Kinds.Has(t) {
				events = append(events, t.String())
			}
		}
		if err := enc.Encode(listed{f.Name, f.TypeString(), events, f.Kernel, f.Doc, f.Values}); err != nil {
			return err
		}
	}
	return nil
}

// Markdown is the README's table of every field.
func Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("| field | type | events | kernel | meaning |\n|---|---|---|---|---|\n")
	for i := range registry {
		f := &registry[i]
		meaning := f.Doc
		if f.Values != nil {
			meaning += ": `" + strings.Join(f.Values, "`, `") + "`"
		}
		kernel := ""
		if f.Kernel {
			kernel = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.Name, f.TypeString(), f.Kinds, kernel, mdEscape(meaning))
	}
	return b.Bytes()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
