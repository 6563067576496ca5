package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a specific exit status (audit's 1 for "at risk", doctor's
// 1 for a failed check) through cobra without printing anything more.
type exitError struct {
	code int
	err  error // printed when non-nil
}

func (e *exitError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

// extraCommands lets a capability that lives in its own file (audit, record,
// ...) register its command from an init function.
var extraCommands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sigtrace",
		Short:         "Trace Linux signals: who sent which signal to whom, and whether it killed",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().Bool("debug", false, "print full error detail (verifier logs)")
	for _, mk := range extraCommands {
		root.AddCommand(mk())
	}
	return root
}

// run executes the command line and returns the process exit status. Every
// error ends as one line on stderr: never a stack trace.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(os.Stderr, "sigtrace: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(os.Stderr, "sigtrace: %v\n", err)
	return 2
}
