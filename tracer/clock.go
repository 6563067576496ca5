package tracer

import (
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Records carry bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME, which never
// steps. Wall time is CLOCK_BOOTTIME plus an offset that does change:
// settimeofday(), clock_settime(), adjtimex(ADJ_SETOFFSET), a leap second
// or a hypervisor's clock correction step CLOCK_REALTIME alone
// (kernel/time/timekeeping.c: they move tk->offs_real, and only suspend
// moves offs_boot, by the same amount xtime moves). NTP slewing changes
// the rate of every clock at once and leaves the offset alone. So the
// offset is measured at start and again on the reader's ticks.

const (
	// clockResync is the age after which the reader's next tick measures
	// the offset again. The reader ticks at least every poll period
	// (50 ms) while events flow, so events are stamped with an offset
	// at most clockResync+poll old, well under a second.
	clockResync = 500 * time.Millisecond
	// clockTries is how many boot/wall/boot readings a measurement takes;
	// the tightest wins, so one preempted reading costs nothing.
	clockTries = 5
)

// wallClock converts CLOCK_BOOTTIME nanoseconds to wall-clock time. It
// runs on the reader's goroutine (or the caller's: it is not locked).
type wallClock struct {
	boot, wall func() int64 // the clock sources, ns; tests inject their own

	offset int64     // wall - boot, ns
	spread int64     // width of the bracket the offset was measured in, ns
	synced time.Time // when it was measured (its monotonic reading counts)
}

func newWallClock() wallClock {
	c := wallClock{boot: bootNs, wall: wallNs}
	c.sync(time.Now())
	return c
}

// bootNs reads CLOCK_BOOTTIME as the kernel's own clock, the one
// bpf_ktime_get_boot_ns() reads.
func bootNs() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0 // cannot fail on a kernel that runs the BPF side (2.6.39+)
	}
	return ts.Nano() - timensBoot()
}

// timensBoot is the boot-time offset of the time namespace sigtrace runs
// in (a container's, CLONE_NEWTIME, 5.6+): clock_gettime() adds it
// (timens_add_boottime() in include/linux/time_namespace.h), BPF's
// ktime_get_boot_fast_ns() does not. Offsets are frozen once a process
// has entered the namespace, so one reading lasts. /proc/self shows those
// of the namespace its children get, which is its own unless it called
// unshare(CLONE_NEWTIME) itself, which sigtrace does not.
var timensBoot = sync.OnceValue(func() int64 {
	b, err := os.ReadFile("/proc/self/timens_offsets")
	if err != nil {
		return 0 // no CONFIG_TIME_NS: no namespace either
	}
	return parseTimensBoot(string(b))
})

// parseTimensBoot reads the boottime line of /proc/PID/timens_offsets,
// "boottime <sec> <nsec>" (kernel/time/namespace.c, show_offset).
func parseTimensBoot(s string) int64 {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "boottime" {
			continue
		}
		sec, err1 := strconv.ParseInt(f[1], 10, 64)
		nsec, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return 0
		}
		return sec*1e9 + nsec
	}
	return 0
}

// wallNs reads CLOCK_REALTIME, through the vDSO.
func wallNs() int64 { return time.Now().UnixNano() }

// sync measures the offset: a wall reading between two boot readings,
// back to back, a few times; the pair of boot readings closest together
// brackets the wall reading best, and its midpoint is taken.
func (c *wallClock) sync(now time.Time) {
	best := int64(math.MaxInt64)
	for i := 0; i < clockTries; i++ {
		b1 := c.boot()
		w := c.wall()
		b2 := c.boot()
		if d := b2 - b1; d >= 0 && d < best {
			best = d
			c.offset = w - (b1 + d/2)
		}
	}
	c.spread = best
	c.synced = now
}

// tick measures the offset again when the last measurement is older than
// clockResync. now is the caller's time.Now(): no clock is read otherwise.
func (c *wallClock) tick(now time.Time) {
	if now.Sub(c.synced) >= clockResync {
		c.sync(now)
	}
}

// at returns the wall-clock time of a CLOCK_BOOTTIME stamp.
func (c *wallClock) at(boot uint64) time.Time { return time.Unix(0, c.offset+int64(boot)) }

// bootTime is the wall-clock time of boot, as the last measurement sees it.
func (c *wallClock) bootTime() time.Time { return time.Unix(0, c.offset) }

// bootNs is at backwards: the CLOCK_BOOTTIME stamp of wall time t.
func (c *wallClock) bootNs(t time.Time) int64 { return t.UnixNano() - c.offset }
