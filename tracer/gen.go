// Package tracer loads sigtrace's BPF programs, applies kernel-side filters,
// reads the ring buffer and decodes records into Events with verdicts.
package tracer

// The Go types for the records (event, sender_detail, ...) and the flag and
// stat enums (picked up through the globals that reference them) are
// generated from bpf/sigtrace.h; never copy them by hand. The compiler and
// strip come from BPF2GO_CC and BPF2GO_STRIP, which `make generate` sets
// from CLANG and STRIP (clang-19 and llvm-strip-19 by default): the
// committed objects are clang-19's, and scripts/check-generated.sh
// rebuilds them the same way.
//go:generate go tool bpf2go -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -type event -type sender_detail -type ancestor -type count_key -type disp_record sigtrace ../bpf/sigtrace.c -- -I../bpf/headers -I../bpf
