#!/bin/sh
# make bench: what sigtrace costs a signal storm, next to the issue's
# reference numbers. Needs root and Go; flags go to bench/cmd/bench
# (-smoke: a one-pair check in seconds; -h: all of them).
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	exec sudo env "PATH=$PATH" "${GO:-go}" run ./bench/cmd/bench "$@"
fi
exec "${GO:-go}" run ./bench/cmd/bench "$@"
