#!/bin/sh
# Fails when the committed BPF objects or their Go bindings do not match
# what `make generate` would produce from bpf/ now. Regenerates through
# generate.sh into a scratch directory, so the working tree is never
# touched.
set -eu
clang=${1:-clang-19}
strip=${2:-llvm-strip-19}
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$top/scripts/generate.sh" "$clang" "$strip" "$out"
stale=0
for f in "$top"/tracer/*_bpfel.go "$top"/tracer/*_bpfel.o; do
	if ! cmp -s "$f" "$out/$(basename "$f")"; then
		echo "stale generated file: tracer/$(basename "$f") (run 'make generate' and commit)" >&2
		stale=1
	fi
done
[ "$stale" = 0 ] && echo "BPF objects match bpf/ sources"
exit "$stale"
