// Package elftest makes test executables: a copy of a program whose
// symbol table cannot be found, as if it had been built with
// -ldflags=-s, without needing strip or objcopy (the kernel matrix's
// guests have only busybox).
package elftest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// HideSymtab copies the ELF executable src to dst (mode 0755) with its
// .symtab section's type changed from SHT_SYMTAB to SHT_PROGBITS: readers
// find no symbol table, the program still runs (the kernel loads segments,
// not sections) and keeps its Go build information.
func HideSymtab(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	idx := -1
	for i, s := range f.Sections {
		if s.Type == elf.SHT_SYMTAB {
			idx = i
		}
	}
	if idx < 0 {
		return fmt.Errorf("%s has no symbol table", src)
	}
	// e_shoff and e_shentsize from the ELF header (elf(5)).
	var shoff, entsize uint64
	if f.Class == elf.ELFCLASS64 {
		shoff, entsize = f.ByteOrder.Uint64(data[0x28:]), uint64(f.ByteOrder.Uint16(data[0x3a:]))
	} else {
		shoff, entsize = uint64(f.ByteOrder.Uint32(data[0x20:])), uint64(f.ByteOrder.Uint16(data[0x2e:]))
	}
	at := shoff + uint64(idx)*entsize + 4 // sh_type follows sh_name in both classes
	if at+4 > uint64(len(data)) {
		return fmt.Errorf("%s: section header out of range", src)
	}
	var order binary.ByteOrder = f.ByteOrder
	order.PutUint32(data[at:], uint32(elf.SHT_PROGBITS))
	return os.WriteFile(dst, data, 0o755)
}

// HasSymtab reports whether the ELF file at path has a symbol table.
func HasSymtab(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.SectionByType(elf.SHT_SYMTAB) != nil
}

// SelfWithSymbols returns this test binary as an executable that has its
// symbol table: os.Executable() itself when it has one (go test -c, as
// the kernel matrix builds them), else a copy that `go test -c` builds
// into dir from the package in the working directory, since plain `go
// test` links test binaries with -s -w (cmd/go/internal/test: OmitDebug)
// and then the toolchain is at hand.
func SelfWithSymbols(dir string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if HasSymtab(self) {
		return self, nil
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		//lint:ignore SA1019 only when go is not on PATH: a test binary runs where it was built, so the build's GOROOT is the one at hand
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, filepath.Base(self)+".symbols")
	cmd := exec.Command(gobin, "test", "-c", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("the test binary has no symbol table, and go test -c failed: %v: %s", err, b)
	}
	if !HasSymtab(out) {
		return "", fmt.Errorf("go test -c made %s without a symbol table", out)
	}
	return out, nil
}
