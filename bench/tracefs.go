package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// tracefsPath is where the bench mounts tracefs when it is not mounted:
// bpftrace looks up tracepoint:signal:signal_generate in it (sigtrace
// does not need it).
const tracefsPath = "/sys/kernel/tracing"

// tracefsState is what the bench found and did about tracefs.
type tracefsState struct {
	Needed     bool   // a bpftrace variant was to run
	Had        string // where it was already mounted; "": not mounted
	Mounted    bool   // the bench mounted it at tracefsPath
	Unmounted  bool   // and unmounted it afterwards
	Err        error  // mounting failed
	UnmountErr error
}

// tracefsMount says where tracefs is mounted ("" if nowhere) per
// /proc/mounts.
func tracefsMount() string {
	f, err := os.Open("/proc/mounts")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 3 && fs[2] == "tracefs" {
			return fs[1]
		}
	}
	return ""
}

// ensureTracefs mounts tracefs at tracefsPath unless it is mounted.
func ensureTracefs() tracefsState {
	st := tracefsState{Needed: true, Had: tracefsMount()}
	if st.Had != "" {
		return st
	}
	if err := unix.Mount("nodev", tracefsPath, "tracefs", 0, ""); err != nil {
		st.Err = fmt.Errorf("tracefs is not mounted and mounting it at %s failed: %w", tracefsPath, err)
		return st
	}
	st.Mounted = true
	return st
}

// unmount undoes what ensureTracefs did, if it mounted tracefs. bpftrace
// has exited by then; something else that opened tracefs meanwhile keeps
// it busy, so it tries for a few seconds.
func (st *tracefsState) unmount() {
	if !st.Mounted || st.Unmounted {
		return
	}
	var err error
	for i := 0; i < 25; i++ {
		if err = unix.Unmount(tracefsPath, 0); err == nil || !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		st.UnmountErr = fmt.Errorf("unmounting %s, which the bench mounted: %w (unmount it by hand: umount %s)", tracefsPath, err, tracefsPath)
		return
	}
	st.Unmounted = true
}

// note is the report's line about tracefs ("" when nothing to say).
func (st tracefsState) note() string {
	switch {
	case !st.Needed:
		return ""
	case st.Err != nil:
		return st.Err.Error()
	case st.Had != "":
		return fmt.Sprintf("tracefs (for bpftrace) was already mounted at %s; the bench left it so", st.Had)
	case st.UnmountErr != nil:
		return fmt.Sprintf("tracefs was not mounted: the bench mounted it at %s for bpftrace, and then failed at %v", tracefsPath, st.UnmountErr)
	case st.Unmounted:
		return fmt.Sprintf("tracefs was not mounted: the bench mounted it at %s for bpftrace and unmounted it afterwards", tracefsPath)
	case st.Mounted:
		return fmt.Sprintf("tracefs was not mounted: the bench mounted it at %s for bpftrace (it is unmounted when the bench ends)", tracefsPath)
	}
	return ""
}

// countLine is a line of bpftrace's map output, as `sigtrace trace
// --count-by` prints it too: "@[SIGUSR1]: 12345", "@[10]: 3".
var countLine = regexp.MustCompile(`^@\[.*\]: (\d+)\s*$`)

// sumCounts sums the counts of a counter's output file.
func sumCounts(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseCounts(string(b)), nil
}

func parseCounts(s string) int64 {
	var sum int64
	for _, line := range strings.Split(s, "\n") {
		if m := countLine.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			sum += n
		}
	}
	return sum
}
