package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/audit"
	textout "github.com/sigtrace/sigtrace/output"
)

func init() { extraCommands = append(extraCommands, newAuditCmd) }

func newAuditCmd() *cobra.Command {
	var opts audit.Options
	var output string
	var keepPrivs bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Find the processes a configured signal (logrotate, systemd, cron) would kill",
		Long: `audit reads the signal senders configured on this system (logrotate
scripts, systemd ExecReload=/ExecStop=/KillSignal=, cron jobs), finds the
live processes each one targets, and reports those that have no handler for
the signal and would die of it.

It follows what those lines run, up to 4 levels: shell scripts, the init
script branch of invoke-rc.d/service ACTION, a unit's reload for systemctl
reload; the source of a finding is the file:line chain down to the sender.
Go programs are judged by the Go runtime's rules: without signal.Notify,
SIGHUP, SIGINT and SIGTERM kill them, SIGQUIT exits with status 2, SIGUSR1
and the like are discarded; whether the program asked is read from its
memory (needs its symbol table; otherwise the finding is unresolved).

Exit status: 0 when no configured sender would kill its target, 1 when one
would (a fatal risk) or when the audit is incomplete (it stopped at a bound
on its work, against crafted input: it cannot say that none would), 2 on
error.`,
		Example: `  sigtrace audit
  sigtrace audit -o json | jq 'select(.risk == "fatal")'
  sigtrace audit --root /mnt/image --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("unknown output format %q: use -o table or -o json", output)
			}
			if opts.Proc == "/proc" {
				opts.Self = os.Getpid()
			}
			if !keepPrivs {
				if err := dropAuditPrivileges(); err != nil {
					return err
				}
			}
			rep, err := audit.Run(opts)
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			for _, w := range rep.Warnings {
				// File names and lines come from the audited system:
				// the same policy as the tables, so no escape reaches
				// the terminal and no newline forges a warning.
				fmt.Fprintf(stderr, "sigtrace: warning: %s\n", textout.SafeString(w.String()))
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				err = audit.WriteJSON(out, rep)
			} else {
				err = audit.WriteTable(out, rep)
			}
			if err != nil && !errors.Is(err, syscall.EPIPE) {
				return fmt.Errorf("writing the report: %w", err)
			}
			if rep.Fatal() || rep.Incomplete() {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Root, "root", "/", "read the configuration under `DIR` (a mounted image or container root)")
	f.StringVar(&opts.Proc, "proc", "/proc", "read processes from `DIR` instead of /proc")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json (one finding per line)")
	f.BoolVar(&opts.All, "all", false, "also list every process unprepared for SIGHUP, SIGUSR1, SIGUSR2 or SIGPIPE")
	f.BoolVar(&keepPrivs, "keep-privileges", false, "keep every capability; by default audit, which only reads, keeps cap_dac_read_search and cap_sys_ptrace, opens files as nobody and sets no_new_privs before it reads anything")
	return cmd
}
