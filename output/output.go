package output

import (
	"fmt"
	"regexp"

	"github.com/sigtrace/sigtrace/tracer"
)

// Renderer appends events to a buffer in one format.
type Renderer interface {
	AppendHeader(b []byte) []byte
	AppendRow(b []byte, ev *tracer.Event) []byte
}

// JSON renders one SPEC object per line. NewJSON's renderer remembers
// what it can reuse from one event to the next (the time up to the
// second, a sender's argv and ancestry by Event.DetailID) and is for one
// goroutine; copies of it share that memory. The zero value keeps nothing
// and renders as AppendJSON does.
type JSON struct {
	st *jsonState
}

// NewJSON returns a JSON renderer with its caches.
func NewJSON() JSON { return JSON{st: new(jsonState)} }

// NewJSONRedacting returns a JSON renderer that masks what re matches in
// every argv argument (a sender's, a killer's, a re-raise's original's)
// with ***: passwords and tokens given on command lines stay out of a
// recording.
func NewJSONRedacting(re *regexp.Regexp) JSON { return JSON{st: &jsonState{redact: re}} }

func (JSON) AppendHeader(b []byte) []byte { return b }

func (j JSON) AppendRow(b []byte, ev *tracer.Event) []byte { return appendJSON(b, ev, j.st) }

// New returns the renderer for -o.
func New(format string, color bool) (Renderer, error) {
	switch format {
	case "table", "":
		return &Table{Color: color}, nil
	case "json":
		return NewJSON(), nil
	}
	return nil, fmt.Errorf("unknown output format %q (want table or json)", format)
}
