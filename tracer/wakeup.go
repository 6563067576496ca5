package tracer

import (
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// sleepFlag is reader_state[0] in bpf/sigtrace.c, mapped into this
// process. The reader sets it just before it waits with no deadline; the
// next record's program clears it and wakes the reader. A busy reader
// leaves it clear and is not woken per record (see wakeup_flags).
type sleepFlag struct {
	// mu keeps close (from Tracer.Close, any goroutine) from unmapping
	// while Run stores; taken only when the reader goes idle or wakes.
	mu  sync.Mutex
	mem []byte
	p   *uint32
}

// mapSleepFlag maps the BPF_F_MMAPABLE array m. A kernel or map that
// cannot be mapped gives nil: the reader then polls on its deadline.
func mapSleepFlag(m *ebpf.Map) *sleepFlag {
	mem, err := unix.Mmap(m.FD(), 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	return &sleepFlag{mem: mem, p: (*uint32)(unsafe.Pointer(&mem[0]))}
}

// set announces a wait with no deadline. The atomic store is a full
// barrier (XCHG on amd64; STLR before the LDAR of AvailableBytes on
// arm64), so either the reader then sees a record committed before the
// program read the flag, or the program sees the flag and wakes it.
func (f *sleepFlag) set() { f.store(1) }

func (f *sleepFlag) clear() { f.store(0) }

func (f *sleepFlag) store(v uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.p != nil {
		atomic.StoreUint32(f.p, v)
	}
}

func (f *sleepFlag) close() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.p != nil {
		_ = unix.Munmap(f.mem)
		f.p, f.mem = nil, nil
	}
}
