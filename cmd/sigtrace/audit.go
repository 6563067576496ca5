package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/audit"
)

func init() { extraCommands = append(extraCommands, newAuditCmd) }

func newAuditCmd() *cobra.Command {
	var opts audit.Options
	var output string
	var keepPrivs, watch bool
	var wf watchFlags
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

With --watch it then keeps watching (tracing disposition changes, so as
root): the moment a process that a configured sender will signal becomes
unprepared for that signal (it removed its handler, exec'd, SA_RESETHAND
reset it) it prints the finding, with -o json one object with "became";
processes that start unprepared are found within 2 s.

Exit status: 0 when no configured sender would kill its target, 1 when one
would (a fatal risk) or when the audit is incomplete (it stopped at a bound
on its work, against crafted input: it cannot say that none would), 2 on
error.`,
		Example: `  sigtrace audit
  sigtrace audit -o json | jq 'select(.risk == "fatal")'
  sigtrace audit --root /mnt/image --all
  sudo sigtrace audit --watch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("unknown output format %q: use -o table or -o json", output)
			}
			if opts.Proc == "/proc" {
				opts.Self = os.Getpid()
			}
			if !watch && (wf.duration != 0 || wf.readyFile != "") {
				return errors.New("--duration goes with --watch")
			}
			if watch {
				if wf.duration < 0 {
					return fmt.Errorf("--duration %s: want a positive duration", wf.duration)
				}
				wf.debug, _ = cmd.Flags().GetBool("debug")
				fatal, err := runAuditWatch(cmd.Context(), opts, output, wf, keepPrivs, cmd.OutOrStdout(), cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				if fatal {
					return &exitError{code: 1}
				}
				return nil
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
			if err := writeReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), rep, output); err != nil {
				return err
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
	f.BoolVar(&watch, "watch", false, "after the audit, keep watching (needs root: it traces): print a finding the moment a process that a configured sender will signal becomes unprepared for that signal (it removes its handler, exec's, or starts without one); stops on Ctrl-C or --duration, exit status as the audit's")
	f.DurationVar(&wf.duration, "duration", 0, "with --watch: stop after this long")
	f.StringVar(&wf.readyFile, "ready-file", "", "with --watch: write this file once watching")
	_ = f.MarkHidden("ready-file")
	f.BoolVar(&keepPrivs, "keep-privileges", false, "keep every capability; by default audit, which only reads, keeps cap_dac_read_search and cap_sys_ptrace, opens files as nobody and sets no_new_privs before it reads anything")
	return cmd
}
