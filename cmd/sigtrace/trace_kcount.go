package main

import (
	"sync"

	"github.com/sigtrace/sigtrace/tracer"
)

// kernelKeys are the --count-by fields the kernel can count generate
// events and deliveries by (bpf/sigtrace.c count_generate,
// count_delivery). Sender fields are not among them: the registry names
// no sender for a signal the kernel raised, while the kernel would count
// the task it ran in, and a delivery has none.
var kernelKeys = map[string]tracer.CountKeys{
	"type":        0, // each count's key says generate or deliver
	"signal.num":  tracer.CountSig,
	"signal.name": tracer.CountSig,
	"target.pid":  tracer.CountTargetPID,
	"target.uid":  tracer.CountTargetUID,
	"target.comm": tracer.CountTargetComm,
}

// kernelCounting decides whether --count-by can count in the kernel, so a
// storm costs a map update per signal and no ring-buffer copy: every key
// is one the kernel has, and the kernel's filters decide the whole
// filter (so the counts are those of the events the same command would
// print). Generate events and deliveries are counted there; a SIGKILL's
// delivery and an exit still come as events and are counted in Go, where
// a table leaves out the kernel's kills of a dying group's threads. It
// sets opts.CountKeys.
func (f *traceFlags) kernelCounting(opts *tracer.Options, out *sink) bool {
	sum := out.sum
	switch {
	case sum == nil || sum.a.Hist() != nil:
		return false
	case f.count > 0 || f.fatal || f.failed:
		return false // decided in Go
	case opts.PendingAfter > 0 || opts.History != tracer.HistoryOff:
		return false
	case f.filter != nil && (!f.filter.KernelExact() || !f.filter.Covers(opts)):
		return false
	}
	var ck tracer.CountKeys
	for _, k := range sum.a.Keys() {
		bit, ok := kernelKeys[k.Name]
		if !ok {
			return false
		}
		ck |= bit
	}
	if ck == 0 {
		ck = tracer.CountSig // one total (or by type alone): any key will do
	}
	opts.CountKeys = ck
	return true
}

// kernelFeed moves the kernel's counts into the aggregator before each
// printing: the map's totals never reset, so it adds what grew since the
// last pull.
type kernelFeed struct {
	mu   sync.Mutex
	tr   *tracer.Tracer
	prev map[tracer.CountKey]uint64
	ev   tracer.Event
}

func (k *kernelFeed) pull(sum *summary) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.prev == nil {
		k.prev = map[tracer.CountKey]uint64{}
	}
	return k.tr.Counts(func(key *tracer.CountKey, n uint64) {
		d := n - k.prev[*key]
		if d == 0 {
			return
		}
		k.prev[*key] = n
		// The event these counts stand for, as the aggregator keys it.
		k.ev = tracer.Event{Type: key.Type, Sig: key.Sig,
			Target: tracer.Process{PID: key.TargetPID, UID: key.TargetUID, HasUID: true, Comm: key.TargetComm}}
		sum.a.AddN(&k.ev, d)
	})
}
