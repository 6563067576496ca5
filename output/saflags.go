package output

// sa_flags bits from include/uapi/asm-generic/signal-defs.h (the same on
// x86 and arm64); golang.org/x/sys does not export them.
var saFlags = []struct {
	bit  uint64
	name string
}{
	{0x00000001, "SA_NOCLDSTOP"},
	{0x00000002, "SA_NOCLDWAIT"},
	{0x00000004, "SA_SIGINFO"},
	{0x08000000, "SA_ONSTACK"},
	{0x10000000, "SA_RESTART"},
	{0x40000000, "SA_NODEFER"},
	{0x80000000, "SA_RESETHAND"},
}

// flagScratch avoids an allocation per event; renderers run on one
// goroutine.
var flagScratch [8]string

// SAFlagNames names the user-visible sa_flags bits (SA_RESTORER, set by
// libc for every handler, is left out). The result is reused by the next
// call.
func SAFlagNames(flags uint64) []string {
	out := flagScratch[:0]
	for _, f := range saFlags {
		if flags&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}
