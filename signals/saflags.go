package signals

// SAFlag is one user-visible sa_flags bit.
type SAFlag struct {
	Bit  uint64
	Name string
}

// SAFlags are the user-visible sa_flags bits, from
// include/uapi/asm-generic/signal-defs.h (the same on x86 and arm64;
// golang.org/x/sys does not export them). SA_RESTORER, which libc sets for
// every handler, is left out.
var SAFlags = []SAFlag{
	{0x00000001, "SA_NOCLDSTOP"},
	{0x00000002, "SA_NOCLDWAIT"},
	{0x00000004, "SA_SIGINFO"},
	{0x08000000, "SA_ONSTACK"},
	{0x10000000, "SA_RESTART"},
	{0x40000000, "SA_NODEFER"},
	{0x80000000, "SA_RESETHAND"},
}
