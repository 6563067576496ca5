package record

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{
		Host: "db1", Kernel: "6.18.0", BootTime: time.Date(2026, 12, 1, 0, 0, 0, 123, time.UTC),
		BootID: "2f1c7d7e-5a57-4a57-9a8b-0123456789ab", Version: "v1.2.3", Filter: `sig == SIGHUP`,
		ClockOffsetNs: 1796083200000000123, Seq: 7, Start: time.Date(2026, 12, 2, 5, 30, 0, 123000000, time.UTC),
	}
	line := h.Marshal()
	if !strings.HasSuffix(string(line), "}\n") || strings.Count(string(line), "\n") != 1 {
		t.Fatalf("not one line: %q", line)
	}
	if !strings.HasPrefix(string(line), `{"type":"header","schema":1,"host":"db1","kernel":"6.18.0","boot_time":"2026-12-01T00:00:00.000000123Z"`) {
		t.Fatalf("does not start as SPEC's header: %s", line)
	}
	got, err := ParseHeader(line)
	if err != nil {
		t.Fatal(err)
	}
	h.Type, h.Schema = "header", Schema
	if got != h {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, h)
	}
}

func TestParseHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       error
	}{
		{"event line", `{"time":"2026-12-01T00:00:00Z","type":"generate"}`, ErrNotHeader},
		{"not JSON", `sigtrace`, ErrNotHeader},
		{"empty", ``, ErrNotHeader},
		{"type not a string", `{"type":1,"schema":1}`, ErrNotHeader},
		{"newer major", `{"type":"header","schema":2,"host":"x"}`, ErrSchema},
		{"newer major, other types", `{"type":"header","schema":2,"host":{"name":"x"}}`, ErrSchema},
		{"no schema", `{"type":"header","host":"x"}`, ErrSchema},
		{"schema zero", `{"type":"header","schema":0}`, ErrSchema},
		{"schema not a number", `{"type":"header","schema":"1"}`, ErrSchema},
		{"schema fraction", `{"type":"header","schema":1.5}`, ErrSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseHeader([]byte(tc.line))
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseHeader(%s) = %v, want %v", tc.line, err, tc.want)
			}
		})
	}
	// A known schema with a bad field is a bad header, not a schema error.
	_, err := ParseHeader([]byte(`{"type":"header","schema":1,"seq":"x"}`))
	if err == nil || errors.Is(err, ErrSchema) || errors.Is(err, ErrNotHeader) {
		t.Fatalf("bad field: %v", err)
	}
	// Fields a newer minor version adds are ignored.
	h, err := ParseHeader([]byte(`{"type":"header","schema":1,"seq":3,"later":{"a":1}}`))
	if err != nil || h.Seq != 3 {
		t.Fatalf("unknown field: %+v, %v", h, err)
	}
}

func TestNewHeader(t *testing.T) {
	h, err := NewHeader("v9", "sig == 1")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if h.Host != host || h.Kernel == "" || len(h.BootID) != 36 || h.Version != "v9" || h.Filter != "sig == 1" {
		t.Fatalf("header %+v", h)
	}
	// The boot time from the clocks agrees with /proc/stat's btime (whole
	// seconds) when there is no time namespace; allow for the rounding.
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		var btime int64
		if n, _ := fmtSscan(l, &btime); n == 1 {
			if d := h.BootTime.Sub(time.Unix(btime, 0)); d < -2*time.Second || d > 2*time.Second {
				t.Fatalf("boot time %v, /proc/stat btime %v", h.BootTime, time.Unix(btime, 0))
			}
			return
		}
	}
	t.Fatal("no btime in /proc/stat")
}

func fmtSscan(line string, btime *int64) (int, error) {
	if !strings.HasPrefix(line, "btime ") {
		return 0, nil
	}
	return fmt.Sscan(strings.TrimPrefix(line, "btime "), btime)
}

// FuzzParseHeader: any input gives a header or an error, never a panic,
// and a header that parses marshals to one that parses the same.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"type":"header","schema":1,"host":"h","kernel":"6.1","boot_time":"2026-01-01T00:00:00Z","boot_id":"x","version":"v","clock_offset_ns":1,"seq":1,"start":"2026-01-01T00:00:01Z"}` + "\n"))
	f.Add([]byte(`{"type":"header","schema":2}`))
	f.Add([]byte(`{"type":"generate"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		h, err := ParseHeader(line)
		if err != nil {
			return
		}
		h2, err := ParseHeader(h.Marshal())
		if err != nil {
			t.Fatalf("re-parse of %s: %v", h.Marshal(), err)
		}
		if !h2.BootTime.Equal(h.BootTime) || !h2.Start.Equal(h.Start) || h2.Seq != h.Seq || h2.Host != h.Host {
			t.Fatalf("round trip changed %+v to %+v", h, h2)
		}
	})
}
