#!/bin/sh
# Regenerates bpf/headers/vmlinux_arm64.h from the BTF of Debian's arm64 cloud
# kernel, without installing it and without touching the system's apt
# configuration (see kernels/lib/apt.sh for the private apt state, cached in
# /var/cache/sigtrace-kernels).
#
# Usage: scripts/vmlinux-arm64.sh [PACKAGE [VERSION]]
#   default: the cloud kernel bookworm ships for arm64 (what its
#   linux-image-cloud-arm64 metapackage depends on, linux-image-6.1.0-*-cloud-arm64).
# Needs: apt-get, dpkg-deb, bpftool, od, dd, grep with -P.
#
# Debian's arm64 vmlinuz is a kernel Image (possibly compressed) without ELF
# sections, so the BTF blob is found by its header: magic 0xEB9F, version 1,
# flags 0, hdr_len 24 (bytes 9f eb 01 00 18 00 00 00, little-endian), followed
# by type_off, type_len, str_off, str_len (u32 each); the blob is
# hdr_len + max(type_off + type_len, str_off + str_len) bytes long.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/kernels/lib/apt.sh"
out=$root/bpf/headers/vmlinux_arm64.h

kapt_update

if [ $# -ge 1 ]; then
	pkg=$1
	version=${2:-$(kapt_cache show --no-all-versions "$pkg:arm64" | sed -n 's/^Version: //p' | head -n 1)}
else
	set -- $(kapt_kernel arm64 bookworm)
	pkg=$1 version=$2
fi
[ -n "$version" ] || { echo "error: no version of $pkg:arm64 found" >&2; exit 1; }

deb=$(kapt_fetch "$pkg" arm64 "$version")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/pkg"
vmlinuz=$(ls "$work"/pkg/boot/vmlinuz-*)

# The Image may be compressed (gzip on older Debian arm64 kernels).
image=$work/Image
case $(od -An -tx1 -N 4 "$vmlinuz" | tr -d ' ') in
1f8b*) gzip -dc "$vmlinuz" >"$image" ;;
28b52ffd) zstd -dc "$vmlinuz" >"$image" ;;
fd377a58) xz -dc "$vmlinuz" >"$image" ;;
*) cp "$vmlinuz" "$image" ;;
esac

# Every candidate header; keep the largest blob that bpftool accepts.
best=0
for off in $(LC_ALL=C grep -obUaP '\x9f\xeb\x01\x00\x18\x00\x00\x00' "$image" | cut -d: -f1); do
	set -- $(od -An -tu4 -j $((off + 8)) -N 16 "$image")
	[ $# -eq 4 ] || continue
	end=$(($1 + $2))
	[ $(($3 + $4)) -gt "$end" ] && end=$(($3 + $4))
	size=$((24 + end))
	[ "$size" -gt "$best" ] || continue
	dd if="$image" of="$work/cand.btf" bs=1M iflag=skip_bytes,count_bytes \
		skip="$off" count="$size" status=none
	if bpftool btf dump file "$work/cand.btf" format raw >/dev/null 2>&1; then
		mv "$work/cand.btf" "$work/vmlinux.btf"
		best=$size
	fi
done
[ "$best" -gt 0 ] || { echo "error: no BTF blob found in $vmlinuz" >&2; exit 1; }

bpftool btf dump file "$work/vmlinux.btf" format c >"$work/vmlinux_arm64.h"
for want in '^struct task_struct {' '^struct user_pt_regs {' '^struct pt_regs {' \
	'u64 regs\[31\];'; do
	grep -q "$want" "$work/vmlinux_arm64.h" ||
		{ echo "error: '$want' missing from the arm64 BTF" >&2; exit 1; }
done
mv "$work/vmlinux_arm64.h" "$out"
echo "wrote $out from $pkg $version ($best bytes of BTF)"
