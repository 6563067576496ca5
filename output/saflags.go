package output

import "github.com/sigtrace/sigtrace/signals"

// flagScratch avoids an allocation per event; renderers run on one
// goroutine.
var flagScratch [8]string

// SAFlagNames names the user-visible sa_flags bits (signals.SAFlags). The
// result is reused by the next call.
func SAFlagNames(flags uint64) []string {
	out := flagScratch[:0]
	for _, f := range signals.SAFlags {
		if flags&f.Bit != 0 {
			out = append(out, f.Name)
		}
	}
	return out
}
