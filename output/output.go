package output

import (
	"fmt"

	"github.com/sigtrace/sigtrace/tracer"
)

// Renderer appends events to a buffer in one format.
type Renderer interface {
	AppendHeader(b []byte) []byte
	AppendRow(b []byte, ev *tracer.Event) []byte
}

// JSON renders one SPEC object per line.
type JSON struct{}

func (JSON) AppendHeader(b []byte) []byte                { return b }
func (JSON) AppendRow(b []byte, ev *tracer.Event) []byte { return AppendJSON(b, ev) }

// New returns the renderer for -o.
func New(format string, color bool) (Renderer, error) {
	switch format {
	case "table", "":
		return &Table{Color: color}, nil
	case "json":
		return JSON{}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want table or json)", format)
}
