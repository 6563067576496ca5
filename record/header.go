// Package record stores what `sigtrace record` writes and `sigtrace
// replay` reads: rotating JSONL files in one directory, each starting with
// a header line, the rotated ones compressed. It deals in rendered lines
// (one JSON object ending in "\n"), not in tracer events, so that the
// renderer `trace -o json` uses is the one that writes recordings.
package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/safeio"
)

// Schema is the major version of the recording format this package writes
// and reads. Fields may be added to lines and to the header without a bump
// (readers ignore what they do not know); renaming or removing one, or
// changing what one means, bumps it.
const Schema = 1

// ErrSchema says a recording was written in a schema major version this
// sigtrace cannot read (a newer sigtrace wrote it).
var ErrSchema = errors.New("unsupported recording schema")

// ErrNotHeader says a file's first line is not a recording header: the
// file is not a sigtrace recording, or its start was lost.
var ErrNotHeader = errors.New("first line is not a sigtrace recording header")

// Header is the first line of every recording file.
type Header struct {
	Type   string `json:"type"` // always "header"
	Schema int    `json:"schema"`
	Host   string `json:"host"`
	Kernel string `json:"kernel"` // uname -r
	// BootTime is when the host booted, in wall-clock time as measured at
	// the start of the recording (CLOCK_REALTIME - CLOCK_BOOTTIME).
	BootTime time.Time `json:"boot_time"`
	// BootID (/proc/sys/kernel/random/boot_id) tells two boots apart,
	// also when their boot times are close or the clock was wrong.
	BootID  string `json:"boot_id"`
	Version string `json:"version"` // of the sigtrace that wrote the file
	Filter  string `json:"filter,omitempty"`
	// ClockOffsetNs is CLOCK_REALTIME - CLOCK_BOOTTIME in ns when the
	// recording started: it turns kernel stamps (dmesg, BPF) into the
	// wall-clock times the lines carry.
	ClockOffsetNs int64 `json:"clock_offset_ns"`
	// Seq numbers the files of one recording directory, from 1, in the
	// order they were written; it goes on across restarts.
	Seq uint64 `json:"seq"`
	// Start is when this file was started.
	Start time.Time `json:"start"`
}

// NewHeader describes this host now, for a recording by sigtrace version
// with filter. The writer fills in Seq and Start of each file.
func NewHeader(version, filter string) (Header, error) {
	h := Header{Type: "header", Schema: Schema, Version: version, Filter: filter}
	var err error
	if h.Host, err = os.Hostname(); err != nil {
		return h, fmt.Errorf("host name: %w", err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return h, fmt.Errorf("uname: %w", err)
	}
	h.Kernel = unix.ByteSliceToString(u.Release[:])
	id, err := safeio.ReadFile("/proc/sys/kernel/random/boot_id", 128)
	if err != nil {
		return h, fmt.Errorf("boot id: %w", err)
	}
	h.BootID = strings.TrimSpace(string(id))
	off, err := clockOffset()
	if err != nil {
		return h, err
	}
	h.ClockOffsetNs = off
	h.BootTime = time.Unix(0, off).UTC()
	return h, nil
}

// clockOffset reads CLOCK_BOOTTIME, CLOCK_REALTIME, CLOCK_BOOTTIME a few
// times and keeps the tightest bracket, so one preemption between two
// readings does not skew the offset.
func clockOffset() (int64, error) {
	best, bestSpread := int64(0), int64(-1)
	for range 5 {
		var b1, w, b2 unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &b1); err != nil {
			return 0, fmt.Errorf("clock_gettime(CLOCK_BOOTTIME): %w", err)
		}
		if err := unix.ClockGettime(unix.CLOCK_REALTIME, &w); err != nil {
			return 0, fmt.Errorf("clock_gettime(CLOCK_REALTIME): %w", err)
		}
		if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &b2); err != nil {
			return 0, fmt.Errorf("clock_gettime(CLOCK_BOOTTIME): %w", err)
		}
		spread := b2.Nano() - b1.Nano()
		if bestSpread < 0 || spread < bestSpread {
			best, bestSpread = w.Nano()-(b1.Nano()+spread/2), spread
		}
	}
	return best, nil
}

// Marshal renders h as one line ending in "\n". Type and Schema are set
// whatever h holds, so a header always says what it is.
func (h Header) Marshal() []byte {
	h.Type = "header"
	if h.Schema == 0 {
		h.Schema = Schema
	}
	// A Header holds only strings, numbers and times: Marshal cannot fail
	// but for a time outside years 0-9999, which the clock does not give.
	b, err := json.Marshal(h)
	if err != nil {
		panic(fmt.Sprintf("record: marshal header: %v", err))
	}
	return append(b, '\n')
}

// ParseHeader parses a header line (with or without its "\n"). A line that
// is not a header gives ErrNotHeader; a schema major version other than
// Schema gives ErrSchema.
func ParseHeader(line []byte) (Header, error) {
	var h Header
	line = bytes.TrimSuffix(line, []byte("\n"))
	// Schema first, with nothing else: a newer major version may have
	// changed the types of the other fields, and its error must be
	// ErrSchema, not a type mismatch.
	var probe struct {
		Type   *string          `json:"type"`
		Schema *json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(line, &probe); err != nil || probe.Type == nil || *probe.Type != "header" {
		return h, ErrNotHeader
	}
	var major int
	if probe.Schema == nil || json.Unmarshal(*probe.Schema, &major) != nil || major < 1 {
		return h, fmt.Errorf("%w: schema %s (this sigtrace reads schema %d)", ErrSchema, schemaText(probe.Schema), Schema)
	}
	if major != Schema {
		return h, fmt.Errorf("%w %d: this sigtrace reads schema %d; replay it with a newer sigtrace", ErrSchema, major, Schema)
	}
	if err := json.Unmarshal(line, &h); err != nil {
		return h, fmt.Errorf("bad recording header: %w", err)
	}
	return h, nil
}

func schemaText(m *json.RawMessage) string {
	if m == nil {
		return "missing"
	}
	s := string(*m)
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return fmt.Sprintf("%q", s)
}
