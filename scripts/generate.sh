#!/bin/sh
# make generate: rebuilds the BPF objects and their Go bindings in a
# scratch copy of the tree, and copies them to OUT (default: the tree's
# tracer/). check-generated.sh builds through this too, into a directory
# of its own: clang's BTF for arm64 orders some strings by where the tree
# lies (the same sources in /work/main and in /tmp/tmp.XXXXXXXXXX gave
# objects that differ in two strings' order), so both must build alike.
set -eu
clang=${1:-clang-19}
strip=${2:-llvm-strip-19}
top=$(cd "$(dirname "$0")/.." && pwd)
out=${3:-$top/tracer}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$top/bpf" "$top/tracer" "$top/go.mod" "$top/go.sum" "$tmp/"
(cd "$tmp/tracer" && BPF2GO_CC="$clang" BPF2GO_STRIP="$strip" go generate . >/dev/null)
mkdir -p "$out"
cp "$tmp"/tracer/*_bpfel.go "$tmp"/tracer/*_bpfel.o "$out/"
