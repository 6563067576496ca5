package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/sigtrace/sigtrace/internal/privs"
	"github.com/sigtrace/sigtrace/tracer"
)

// cgoDropOptional lets the tests of a cgo-linked test binary (a plain `go
// test` where a C compiler is found; pflag's import of net links cgo) run
// trace without the drop, which such a binary cannot do; the privilege
// tests themselves then fail or skip (privileges_test.go). Set only by
// TestMain: a sigtrace binary never has it.
var cgoDropOptional bool

// dropPrivileges keeps only what the reading side needs once the programs
// are attached (tracer.ReadingNeeds), opens files as nobody from then on,
// and sets no_new_privs, on every thread (internal/privs). Stdout and the
// ready file are already open. writes: the process goes on creating files
// (record, in its own directory): files are then still opened as root,
// which owns the directory, though with no capability to override a
// file's permissions.
func dropPrivileges(tr *tracer.Tracer, debug, writes bool) error {
	needs := tr.ReadingNeeds()
	kept, err := privs.Drop(privs.SetOfNeeds(needs), privs.Options{NoFileWrites: !writes})
	if errors.Is(err, privs.ErrCgo) && cgoDropOptional {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dropping privileges once attached: %w; to trace with every privilege kept, add --keep-privileges", err)
	}
	if debug {
		for _, n := range needs {
			if kept.Has(n.Cap) {
				fmt.Fprintf(os.Stderr, "sigtrace: keeping %s: %s\n", n.Cap, n.Why)
			}
		}
		if writes {
			fmt.Fprintf(os.Stderr, "sigtrace: capabilities now %s, no_new_privs set\n", kept)
		} else {
			fmt.Fprintf(os.Stderr, "sigtrace: capabilities now %s, no_new_privs set, files opened as uid %d\n", kept, privs.Nobody)
		}
	}
	return nil
}

// auditNeeds: audit reads and parses, and writes nothing but its report.
var auditNeeds = []privs.Need{
	{Cap: privs.CapDacReadSearch, Why: "reading configuration that is not world-readable (users' crontabs are mode 0600) and other users' /proc/PID files"},
	{Cap: privs.CapSysPtrace, Why: "reading other users' /proc/PID/exe and a Go program's notify mask from its memory (ptrace_may_access, fs/proc/base.c)"},
}

// dropAuditPrivileges drops audit to auditNeeds before it reads anything:
// a crafted configuration file or script then meets a process that can
// read but not write, load BPF programs or change the system.
func dropAuditPrivileges() error {
	_, err := privs.Drop(privs.SetOfNeeds(auditNeeds), privs.Options{NoFileWrites: true})
	if errors.Is(err, privs.ErrCgo) && cgoDropOptional {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dropping privileges before reading: %w; to audit with every privilege kept, add --keep-privileges", err)
	}
	return nil
}
