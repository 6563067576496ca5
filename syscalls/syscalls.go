// Package syscalls names Linux system calls by number for the architecture
// sigtrace runs on. The tables are generated from golang.org/x/sys's
// zsysnum files (go generate ./syscalls), not written by hand.
package syscalls

import "strconv"

//go:generate go run ./gen

// Name returns the system call's name ("read"), or "syscall_<nr>".
func Name(nr int) string {
	if n, ok := names[nr]; ok {
		return n
	}
	return "syscall_" + strconv.Itoa(nr)
}
