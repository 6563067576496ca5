package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

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
	root.SetHelpCommand(helpCmd())
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

// helpCmd is cobra's help command, but `sigtrace help nope` is an error
// like any other unknown command: one line and exit status 2, not
// cobra's "Unknown help topic", the whole usage and exit status 0.
func helpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return fmt.Errorf("unknown help topic %q: sigtrace --help lists the commands", strings.Join(args, " "))
			}
			return cmd.Help()
		},
	}
}
