// Package syscalls names Linux system calls by number for the architecture
// sigtrace runs on. The tables are generated from golang.org/x/sys's
// zsysnum files (go generate ./syscalls), not written by hand.
package syscalls

import "strconv"

//go:generate go run ./gen

// Name returns the system call's name ("read"), or "syscall_<nr>". The
// table is an array indexed by number (a lookup per deliver event that
// interrupted a system call).
func Name(nr int) string {
	if nr >= 0 && nr < len(names) && names[nr] != "" {
		return names[nr]
	}
	return "syscall_" + strconv.Itoa(nr)
}
