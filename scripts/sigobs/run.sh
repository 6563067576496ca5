#!/bin/sh
# scripts/sigobs/run.sh: build and start the independent SIGALRM observer
# (obs.c) beside a sigtrace test, e.g. the itimer storm of
# `git show 66495c6:tracer/missed_test.go`; stop it with SIGTERM and it
# prints per tgid what the kernel's tracepoints reported. Not part of
# make test: a diagnostic for telling sigtrace's losses from the kernel's.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${TMPDIR:-/tmp}/sigobs
cd "$root"
# Built inside the module (for its cilium/ebpf) from a scratch package.
pkg=$root/.sigobs-build
rm -rf "$pkg" && mkdir "$pkg"
trap 'rm -rf "$pkg"' EXIT
cp "$here/obs.c" "$pkg/"
cp "$here/main.go.txt" "$pkg/main.go"
(cd "$pkg" && GOPACKAGE=main go tool bpf2go -cc "${CLANG:-clang-19}" -cflags "-O2 -g" -target amd64,arm64 obs obs.c -- -I"$root/bpf/headers" -I"$root/bpf" >/dev/null)
CGO_ENABLED=0 go build -o "$bin" ./.sigobs-build
rm -rf "$pkg"
exec "$bin"
