package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dsr-project/dsr/internal/tlog"
)

func receiptCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "receipt",
		Short: "Check a receipt from the public transparency log",
	}
	cmd.AddCommand(receiptVerifyCommand())
	return cmd
}

func receiptVerifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify FILE --public-key KEY",
		Short: "Check a receipt offline: the checkpoint's signature, the entry's inclusion and that it names the request",
		Long: `verify checks a receipt (GET /api/v1/requests/ID/receipt) without asking the server:
the checkpoint is signed by the log's key (GET /api/v1/log/public-key), the entry is included
in the checkpoint's tree, and the entry's request hash is that of the receipt's request ID
and request secret. It exits non-zero when any check fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, _ := cmd.Flags().GetString("public-key")
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read receipt: %w", err)
			}
			var r tlog.Receipt
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				return fmt.Errorf("read receipt: %w", err)
			}
			if err := r.Verify(strings.TrimSpace(key)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "verified: %s of request %s, entry %d of %d, due %s\n",
				r.Entry.Milestone, r.RequestID, r.Entry.Index, r.TreeSize, r.Entry.DueAt.Format("2006-01-02"))
			return nil
		},
	}
	cmd.Flags().String("public-key", "", "the log's verifier key, as GET /api/v1/log/public-key serves it (required)")
	if err := cmd.MarkFlagRequired("public-key"); err != nil {
		panic(err) // the flag is defined just above
	}
	return cmd
}
