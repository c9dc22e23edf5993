package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsr-project/dsr/internal/tlog"
)

func logCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Monitor and witness the public transparency log",
	}
	cmd.AddCommand(logVerifyCommand(), logPublicKeyCommand(), logWitnessCommand())
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
		Use:   "verify --url URL --public-key KEY [--state FILE] [--witness-key KEY]...",
		Short: "Check that the log's latest checkpoint is signed, matches its entries and extends the one seen before",
		Long: `verify fetches the latest checkpoint of the log served at --url, checks its signature
with --public-key, recomputes its root from every served entry and, when --state holds a
checkpoint seen before, checks the consistency proof that the log only grew since. Each
--witness-key names a witness whose valid cosignature the checkpoint must carry. It then
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
			witnesses, _ := cmd.Flags().GetStringArray("witness-key")
			obs, err := tlog.Monitor{BaseURL: url, VerifierKey: key, WitnessKeys: witnesses}.Check(cmd.Context(), prev)
			if err != nil {
				return err
			}
			if state != "" {
				if err := os.WriteFile(state, obs.Signed, 0o644); err != nil {
					return fmt.Errorf("write --state: %w", err)
				}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "verified: %s has %d entries", obs.Checkpoint.Origin, obs.Checkpoint.Size)
			if len(prev) > 0 {
				fmt.Fprint(out, ", consistent with the checkpoint seen before")
			}
			fmt.Fprintln(out)
			for _, c := range obs.Cosignatures {
				fmt.Fprintf(out, "cosigned by witness %s at %s\n", c.Witness, c.At.Format(time.RFC3339))
			}
			return nil
		},
	}
	cmd.Flags().String("url", "", "the dsr server's base URL (required)")
	cmd.Flags().String("public-key", "", "the log's verifier key, from a source you trust (required)")
	cmd.Flags().String("state", "", "file keeping the last checkpoint seen, to prove the log only grew since")
	cmd.Flags().StringArray("witness-key", nil, "a witness's verifier key whose cosignature the checkpoint must carry (repeatable)")
	for _, f := range []string{"url", "public-key"} {
		if err := cmd.MarkFlagRequired(f); err != nil {
			panic(err) // the flag is defined just above
		}
	}
	return cmd
}
