package tracer

import (
	"testing"

	"github.com/sigtrace/sigtrace/signals"
)

// TestKillsByDefaultAgrees ties the BPF side's rule (which signals' default
// kills: all but DEFAULT_SPARES, bpf/sigtrace.h) to the Go side's
// (signals.DefaultAction), for every signal number.
func TestKillsByDefaultAgrees(t *testing.T) {
	spares := uint64(sigtraceDefaultSparesDEFAULT_SPARES)
	for sig := 1; sig <= 64; sig++ {
		kernel := spares&(1<<(sig-1)) == 0
		if goSide := signals.DefaultAction(sig).Kills(); kernel != goSide {
			t.Errorf("%s: BPF says kills by default %v, signals.DefaultAction %v (%s)", signals.Name(sig), kernel, goSide, signals.DefaultAction(sig))
		}
	}
}
