package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/tracer"
)

func init() { extraCommands = append(extraCommands, newDoctorCmd) }

func newDoctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check that this machine can run sigtrace, and say how to fix what is missing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			failed := 0
			for _, c := range tracer.Diagnose() {
				status := "ok  "
				if !c.OK {
					status = "FAIL"
					failed++
				}
				fmt.Fprintf(os.Stdout, "%s  %-14s %s\n", status, c.Name, c.Detail)
				if !c.OK && c.Fix != "" {
					fmt.Fprintf(os.Stdout, "      %-14s fix: %s\n", "", c.Fix)
				}
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d check(s) failed", failed)}
			}
			return nil
		},
	}
}
