#!/bin/sh
# make test-kernels: the integration suite inside Debian's cloud kernels
# (5.10, 6.1, 6.12 on x86_64 and 6.1 on arm64) under qemu TCG, and a matrix
# test × kernel of the results (kernels/matrix). Exits non-zero on any test
# failure, build failure, or guest that did not finish.
#
# Everything downloaded or built lives outside the repository, in
# $SIGTRACE_KCACHE (default /var/cache/sigtrace-kernels); the system's apt
# configuration is never changed (see kernels/lib/apt.sh).
#
# Environment:
#   SIGTRACE_KERNELS   labels to run (default: all of "5.10-x86_64 6.1-x86_64
#                      6.12-x86_64 6.1-arm64")
#   SIGTRACE_JOBS      guests booted at once (default 2)
#   SIGTRACE_TIMEOUT   seconds per guest before it counts as hung (default 1200)
#   SIGTRACE_HOST      1 (default) also runs the same test binaries on the host
#                      as the "host" column; 0 leaves the host to `make test`
#   SIGTRACE_PKGS      Go packages to test (default: every package with tests)
#   SIGTRACE_RUN       a -test.run pattern, to run only some tests (default all)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/kernels/lib/apt.sh"

KERNELS=${SIGTRACE_KERNELS:-"5.10-x86_64 6.1-x86_64 6.12-x86_64 6.1-arm64"}
JOBS=${SIGTRACE_JOBS:-2}
TIMEOUT=${SIGTRACE_TIMEOUT:-1200}
HOST=${SIGTRACE_HOST:-1}
# per test binary, shorter than the guest so that a hang still prints its stacks
TEST_TIMEOUT=$((TIMEOUT > 60 ? TIMEOUT - 30 : TIMEOUT))s
work=$KCACHE/run
results=$work/results

t0=$(date +%s%N)
log() { echo "kernels: $*" >&2; }
die() { echo "kernels: error: $*" >&2; exit 2; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# label -> "arch suite distribution"
kernel_info() {
	case $1 in
	5.10-x86_64) echo "amd64 bullseye Debian_11_(bullseye)" ;;
	6.1-x86_64) echo "amd64 bookworm Debian_12_(bookworm)" ;;
	6.12-x86_64) echo "amd64 trixie Debian_13_(trixie)" ;;
	6.1-arm64) echo "arm64 bookworm Debian_12_(bookworm)" ;;
	*) die "unknown kernel label $1 (known: 5.10-x86_64 6.1-x86_64 6.12-x86_64 6.1-arm64)" ;;
	esac
}

[ "$(id -u)" = 0 ] || die "needs root (apt-get, device nodes in the initramfs, BPF on the host): run sudo make test-kernels"
for k in $KERNELS; do kernel_info "$k" >/dev/null; done # fail early on a bad label

# One run at a time: runs share the cache and the build directories.
mkdir -p "$KCACHE"
exec 9>"$KCACHE/lock"
flock -n 9 || die "another make test-kernels is running (lock $KCACHE/lock)"

# --- host tools, installed on first use -------------------------------------
need=""
archs=""
for k in $KERNELS; do
	set -- $(kernel_info "$k")
	case " $archs " in *" $1 "*) ;; *) archs="$archs $1" ;; esac
done
case $archs in *amd64*) command -v qemu-system-x86_64 >/dev/null || need="$need qemu-system-x86" ;; esac
case $archs in *arm64*) command -v qemu-system-aarch64 >/dev/null || need="$need qemu-system-arm" ;; esac
dpkg-query -W -f='${Status}\n' busybox-static 2>/dev/null | grep -q 'ok installed' ||
	need="$need busybox-static"
if [ -n "$need" ]; then
	log "installing$need"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >&2 ||
		die "apt-get install$need failed (run apt-get update first?)"
fi
busybox=/bin/busybox # from busybox-static: also our cpio

# --- kernels and arm64 busybox from the private apt configuration ----------
kapt_update
mkdir -p "$KCACHE/kernels" "$work"
rm -rf "$results"
mkdir -p "$results"

# extract DEB PATTERN DEST: one file of a .deb, without unpacking the rest.
extract() {
	tmp=$(mktemp -d "$work/x.XXXXXX")
	dpkg-deb --fsys-tarfile "$1" | tar -x -C "$tmp" --wildcards "$2"
	# shellcheck disable=SC2086 # the pattern matches one file
	mv $tmp/$2 "$3"
	rm -rf "$tmp"
}

for k in $KERNELS; do
	set -- $(kernel_info "$k")
	arch=$1 suite=$2 dist=$3
	set -- $(kapt_kernel "$arch" "$suite")
	[ $# -eq 2 ] || die "cannot find the cloud kernel of $suite for $arch"
	pkg=$1 version=$2
	vmlinuz=$KCACHE/kernels/${pkg}_$version.vmlinuz
	if [ ! -s "$vmlinuz" ]; then
		deb=$(kapt_fetch "$pkg" "$arch" "$version")
		extract "$deb" './boot/vmlinuz-*' "$vmlinuz.tmp"
		mv "$vmlinuz.tmp" "$vmlinuz"
	fi
	mkdir -p "$results/$k"
	cat >"$results/$k/guest.conf" <<CONF
LABEL='$k'
ARCH='$arch'
SUITE='$suite'
DIST='$(echo "$dist" | tr _ ' ')'
PACKAGE='$pkg'
VERSION='$version'
VMLINUZ='$vmlinuz'
INITRD='$work/initramfs-$arch.cpio.gz'
TIMEOUT='$TIMEOUT'
CONF
done

busybox_for() { # arch -> path of a static busybox for it
	if [ "$1" = amd64 ]; then
		echo "$busybox"
		return
	fi
	v=$(kapt_version busybox-static "$1" bookworm)
	[ -n "$v" ] || die "no busybox-static for $1 in bookworm"
	out=$KCACHE/busybox_${v#*:}_$1
	if [ ! -s "$out" ]; then
		extract "$(kapt_fetch busybox-static "$1" "$v")" ./bin/busybox "$out.tmp"
		mv "$out.tmp" "$out"
	fi
	echo "$out"
}

# --- test binaries and initramfs per architecture ---------------------------
cd "$root"
module=$(go list -m)
pkgs=${SIGTRACE_PKGS:-$(go list -e -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...)}
[ -n "$pkgs" ] || die "no Go package has tests"
excluded=""
while read -r rel why; do
	case $rel in "" | "#"*) continue ;; esac
	case " $(echo $pkgs) " in *" $module/$rel "*)
		pkgs=$(echo "$pkgs" | tr " " "\n" | grep -vxF "$module/$rel")
		excluded="$excluded $rel"
		log "not testing $rel: $why"
		;;
	esac
done <"$root/kernels/guest-exclude"
: >"$results/build-failures"

for arch in $archs; do
	tb=$(date +%s%N)
	stage=$work/stage-$arch
	rm -rf "$stage"
	mkdir -p "$stage/bin" "$stage/dev" "$stage/etc" "$stage/t"
	: >"$stage/t/list"
	# Tests that read the README (the fields table, the cookbook) find it
	# from /t/PKG as the source tree has it: ../README.md, ../../README.md.
	cp "$root/README.md" "$stage/t/"
	# The recorder's test under its unit's bounds reads the unit the same way.
	mkdir -p "$stage/t/contrib"
	cp "$root/contrib/sigtrace-record.service" "$stage/t/contrib/"
	# The replay and report tests read output's JSON golden, also when only
	# some packages are staged (SIGTRACE_PKGS).
	mkdir -p "$stage/t/output/testdata"
	cp "$root/output/testdata/events.json.golden" "$stage/t/output/testdata/"
	for p in $pkgs; do
		rel=${p#"$module"}
		rel=${rel#/}
		[ -n "$rel" ] || rel=.
		dest=$stage/t/$rel
		mkdir -p "$dest"
		errlog=$results/build-$arch-$(echo "$rel" | tr / _).log
		if CGO_ENABLED=0 GOARCH=$arch go test -c -o "$dest/pkg.test" "./$rel" >"$errlog" 2>&1; then
			rm -f "$errlog"
			[ -d "$rel/testdata" ] && cp -R "$rel/testdata" "$dest/"
			echo "$rel" >>"$stage/t/list"
		else
			log "BUILD FAILED for $arch: $rel (see $errlog)"
			echo "$arch $rel $errlog" >>"$results/build-failures"
		fi
	done
	# The keeper holds the tracepoints enabled in the guest (see its doc).
	CGO_ENABLED=0 GOARCH=$arch go build -o "$stage/bin/keeper" ./kernels/keeper || die "building kernels/keeper for $arch"
	bb=$(busybox_for "$arch")
	cp "$bb" "$stage/bin/busybox"
	cp "$root/kernels/guest/init" "$stage/init"
	echo "TEST_TIMEOUT=$TEST_TIMEOUT" >"$stage/t/env"
	echo "TEST_RUN='${SIGTRACE_RUN:-.}'" >>"$stage/t/env"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
	mknod -m 600 "$stage/dev/console" c 5 1
	mknod -m 666 "$stage/dev/null" c 1 3
	(cd "$stage" && find . | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$work/initramfs-$arch.cpio.gz"
	log "$arch: $(wc -l <"$stage/t/list") test binaries, initramfs $(($(wc -c <"$work/initramfs-$arch.cpio.gz") / 1048576)) MiB in $(($(ms_since "$tb") / 1000)) s"
done

# --- the host column: the same amd64 binaries, run here ---------------------
if [ "$HOST" = 1 ] && [ "$(uname -m)" = x86_64 ] && [ -f "$work/stage-amd64/t/list" ] &&
	case $archs in *amd64*) true ;; *) false ;; esac; then
	log "host: running the tests on $(uname -r)"
	mkdir -p "$results/host"
	th=$(date +%s%N)
	{
		echo "@@SIGTRACE BEGIN $(uname -r) $(uname -m) cpus=$(nproc)"
		while read -r rel; do
			echo "@@SIGTRACE PKG $rel"
			rc=0
			(cd "$root/$rel" && "$work/stage-amd64/t/$rel/pkg.test" -test.v=test2json \
				-test.count=1 -test.paniconexit0 -test.timeout="$TEST_TIMEOUT" -test.run="${SIGTRACE_RUN:-.}" </dev/null 2>&1) || rc=$?
			echo
			echo "@@SIGTRACE PKGEND $rel $rc"
		done <"$work/stage-amd64/t/list"
		echo "@@SIGTRACE END"
	} >"$results/host/console.log"
	printf 'LABEL=host\nARCH=amd64\nDIST=host\n' >"$results/host/guest.conf"
	printf 'wall_ms=%s\nqemu_rc=0\ntimed_out=0\n' "$(ms_since "$th")" >"$results/host/meta"
	log "host: finished in $(($(ms_since "$th") / 1000)) s"
fi

# --- the guests ------------------------------------------------------------
tg=$(date +%s%N)
for k in $KERNELS; do echo "$results/$k"; done |
	xargs -P "$JOBS" -n 1 "$root/kernels/guest.sh" ||
	log "a guest runner failed (see above); the matrix shows it"
guests_ms=$(ms_since "$tg")

{
	echo "total_ms=$(ms_since "$t0")"
	echo "guests_ms=$guests_ms"
	echo "jobs=$JOBS"
	echo "kernels=$KERNELS"
	echo "excluded=${excluded# }"
	c=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
	git -C "$root" diff --quiet HEAD -- 2>/dev/null || c="$c+changes"
	echo "commit=$c"
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$results/run.meta"

# Only a full run (every kernel, every package) replaces the committed
# kernels/results/latest.md; a partial one goes next to its console logs.
md=$results/matrix.md
if [ -z "${SIGTRACE_KERNELS:-}" ] && [ -z "${SIGTRACE_PKGS:-}" ]; then
	mkdir -p "$root/kernels/results"
	md=$root/kernels/results/latest.md
fi
rc=0
go run ./kernels/matrix -results "$results" -md "$md" || rc=$?
log "wall time: guests $((guests_ms / 1000)) s, total $(($(ms_since "$t0") / 1000)) s (console logs in $results)"
exit "$rc"
