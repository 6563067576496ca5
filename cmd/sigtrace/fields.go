package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/fields"
)

func init() { extraCommands = append(extraCommands, newFieldsCmd) }

func newFieldsCmd() *cobra.Command {
	var events, format string
	cmd := &cobra.Command{
		Use:   "fields",
		Short: "List every event field: its JSON name, type, events, whether the kernel decides it, meaning",
		Long: `Lists the fields of the JSON events (-o json) by their dotted names
(signal.name, sender.comm, target.pid, sender.ancestry.comm), with their
type, the event types that carry them, whether the kernel can decide them
(so a filter on them runs in BPF), and what they mean. The README's
"Event fields" table is made from the same registry.`,
		Example: `  sigtrace fields
  sigtrace fields --events exit
  sigtrace fields -o json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			kinds, err := fields.ParseKinds(events)
			if err != nil {
				return err
			}
			list := fields.Select(kinds)
			switch format {
			case "table", "":
				return fields.WriteTable(os.Stdout, list)
			case "json":
				return fields.WriteJSON(os.Stdout, list)
			}
			return fmt.Errorf("unknown output format %q (want table or json)", format)
		},
	}
	cmd.Flags().StringVar(&events, "events", "", "only the fields of these event types (comma-separated: generate, deliver, exit, pending, lost)")
	cmd.Flags().StringVarP(&format, "output", "o", "table", "table or json (one object per field and line)")
	return cmd
}
