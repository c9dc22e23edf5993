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
	cmd.AddCommand(logVerifyCommand(), logPublicKeyCommand())
	return cmd
}

func logPublicKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "public-key",
		Short: "Print the log's verifier key, the one GET /api/v1/log/public-key serves",
		Long: `public-key derives the log's verifier key from the server secret and the log's name, so an
operator can publish it through a channel other than the server itself. The secret is
--secret-key or DSR_SECRET_KEY, else the dev data directory's; the log is named after
--public-url or DSR_PUBLIC_URL, else, for a dev data directory, after the HTTP address
` + "`dsr dev`" + ` serves (--http or DSR_HTTP_ADDR).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			secret, err := toolSecret(cmd)
			if err != nil {
				return err
			}
			publicURL, err := toolPublicURL(cmd)
			if err != nil {
				return err
			}
			key, err := tlog.VerifierKey(secret, tlog.Origin(publicURL))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), key)
			return nil
		},
	}
	cmd.Flags().String("database-url", "", "application database, to tell a deployment from a dev data directory (env DATABASE_URL)")
	cmd.Flags().String("data-dir", defaultDataDir, "data directory of `dsr dev`, used when no database URL is given (env DSR_DATA_DIR)")
	cmd.Flags().String("secret-key", "", "server secret (env DSR_SECRET_KEY)")
	cmd.Flags().String("public-url", "", "base URL requesters reach dsr at (env DSR_PUBLIC_URL)")
	cmd.Flags().String("http", "127.0.0.1:8080", "address `dsr dev` serves, which names its log when no public URL is given (env DSR_HTTP_ADDR)")
	return cmd
}

// toolPublicURL is the public URL the server names its log after: the configured one, else
// the one `dsr dev` falls back to for its data directory.
func toolPublicURL(cmd *cobra.Command) (string, error) {
	flags := cmd.Flags()
	if v, _ := flags.GetString("public-url"); v != "" {
		return v, nil
	}
	if v := os.Getenv("DSR_PUBLIC_URL"); v != "" {
		return v, nil
	}
	if _, dataDir := tokenDatabase(cmd); dataDir == "" {
		return "", errors.New("DSR_PUBLIC_URL (--public-url) is required with a database URL")
	}
	addr, _ := flags.GetString("http")
	if v := os.Getenv("DSR_HTTP_ADDR"); v != "" && !flags.Changed("http") {
		addr = v
	}
	return "http://" + addr, nil
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
