package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/dsr-project/dsr/internal/tlog"
)

func logCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Monitor the public transparency log",
	}
	cmd.AddCommand(logVerifyCommand())
	return cmd
}

func logVerifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify --url URL --public-key KEY [--state FILE]",
		Short: "Check that the log's latest checkpoint is signed, matches its entries and extends the one seen before",
		Long: `verify fetches the latest checkpoint of the log served at --url, checks its signature
with --public-key, recomputes its root from every served entry and, when --state holds a
checkpoint seen before, checks the consistency proof that the log only grew since. It then
keeps the new checkpoint in --state, so that running it now and then catches a log rewritten
behind the monitor's back. It exits non-zero when any check fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, _ := cmd.Flags().GetString("url")
			key, _ := cmd.Flags().GetString("public-key")
			state, _ := cmd.Flags().GetString("state")
			var prev []byte
			if state != "" {
				var err error
				if prev, err = os.ReadFile(state); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("read --state: %w", err)
				}
			}
			signed, cp, err := tlog.Monitor{BaseURL: url, VerifierKey: key}.Check(cmd.Context(), prev)
			if err != nil {
				return err
			}
			if state != "" {
				if err := os.WriteFile(state, signed, 0o644); err != nil {
					return fmt.Errorf("write --state: %w", err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "verified: %s has %d entries", cp.Origin, cp.Size)
			if len(prev) > 0 {
				fmt.Fprint(cmd.OutOrStdout(), ", consistent with the checkpoint seen before")
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().String("url", "", "the dsr server's base URL (required)")
	cmd.Flags().String("public-key", "", "the log's verifier key, from a source you trust (required)")
	cmd.Flags().String("state", "", "file keeping the last checkpoint seen, to prove the log only grew since")
	for _, f := range []string{"url", "public-key"} {
		if err := cmd.MarkFlagRequired(f); err != nil {
			panic(err) // the flag is defined just above
		}
	}
	return cmd
}
