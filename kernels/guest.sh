#!/bin/sh
# Boots one kernel of the matrix under qemu (TCG) and records its console.
# Usage: kernels/guest.sh RESULTDIR   (RESULTDIR/guest.conf written by
# kernels/test-kernels.sh). Writes RESULTDIR/console.log, qemu.err and meta.
set -eu

dir=$1
. "$dir/guest.conf" # ARCH VMLINUZ INITRD TIMEOUT LABEL

case $ARCH in
amd64)
	set -- qemu-system-x86_64 -accel tcg -cpu max -M pc -append "console=ttyS0 panic=-1 quiet"
	;;
arm64)
	set -- qemu-system-aarch64 -accel tcg -M virt -cpu max,pauth=off -append "console=ttyAMA0 panic=-1 quiet"
	;;
*)
	echo "guest.sh: unknown ARCH $ARCH" >&2
	exit 2
	;;
esac

echo "kernels: $LABEL: booting" >&2
start=$(date +%s%N)
# A kernel that panics before the tests start (seen once: Debian's 6.12
# under TCG, an int3 in sched_clock_tick while patching its own text at
# boot) says nothing about sigtrace: boot it once more, and keep the
# first console.
# 1 GiB: with 512 MiB the 6.12 guest ran out of memory creating the maps
# of a tracer late in the tracer package (map create: ENOMEM), the
# initramfs and /tmp being in RAM and freed maps going back to the kernel
# only after RCU grace periods, which are slow under TCG.
for attempt in 1 2; do
	rc=0
	timeout -k 10 "$TIMEOUT" "$@" -smp 2 -m 1G -nodefaults -no-user-config \
		-display none -serial stdio -no-reboot \
		-kernel "$VMLINUZ" -initrd "$INITRD" \
		</dev/null >"$dir/console.log" 2>"$dir/qemu.err" || rc=$?
	if grep -q '^@@SIGTRACE BEGIN' "$dir/console.log" || ! grep -q 'Kernel panic' "$dir/console.log" || [ "$attempt" = 2 ]; then
		break
	fi
	mv "$dir/console.log" "$dir/console.boot$attempt.log"
	echo "kernels: $LABEL: the kernel panicked before the tests began (see console.boot$attempt.log); booting again" >&2
done
end=$(date +%s%N)
wall_ms=$(((end - start) / 1000000))
timed_out=0
case $rc in 124 | 137) timed_out=1 ;; esac
{
	echo "wall_ms=$wall_ms"
	echo "qemu_rc=$rc"
	echo "timed_out=$timed_out"
} >"$dir/meta"

state="finished"
grep -q '^@@SIGTRACE END' "$dir/console.log" || state="did NOT finish"
[ "$timed_out" = 1 ] && state="$state (timeout ${TIMEOUT}s)"
echo "kernels: $LABEL: $state in $((wall_ms / 1000)).$((wall_ms % 1000 / 100)) s" >&2
