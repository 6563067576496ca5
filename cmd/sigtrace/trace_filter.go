package main

import (
	"fmt"

	"github.com/sigtrace/sigtrace/filter"
)

// filterHelp is the FILTER part of `sigtrace trace --help`.
const filterHelp = `

FILTER is one expression, quoted as one argument, over the field names
of -o json (sigtrace fields lists them, with the events that carry each):

  sig == SIGHUP && target.comm == "logdeviced"
  type == "exit"
  sender.uid != 0 && sig in [SIGTERM, SIGKILL]
  target.comm matches "^nginx"
  verdict == "fatal" && unprepared

sig is short for signal.num, and signal names are constants: SIGHUP,
SIGRTMIN+3 (not HUP). Operators: == != < <= > >=, in [a, b] and in A..B,
not in, matches (a Go regular expression), contains, startsWith,
endsWith, && (and), || (or), ! (not), + - * %, len(list); "x" in
sender.argv looks in a list. A field an event does not carry (sender on
a deliver event, sender.pid when the kernel raised the signal) makes
every comparison with it false, != included, while not and not in
negate; field == nil is true when it is absent. What the kernel can
decide (the signal, target and sender pids and uids, sender and target comms, the
event types) is filtered in BPF, before anything is copied; the rest in
sigtrace. -s, -p, --comm and the other flags apply as well: an event
must pass them and FILTER.`

// setFilter compiles the FILTER argument, before anything is attached.
func (f *traceFlags) setFilter(args []string) error {
	if len(args) == 0 {
		return nil
	}
	if len(args) > 1 {
		return fmt.Errorf("one FILTER expression, quoted as one argument (got %d arguments: %q ...)", len(args), args[0])
	}
	flt, err := filter.Compile(args[0])
	if err != nil {
		return err
	}
	f.filter = flt
	return nil
}
