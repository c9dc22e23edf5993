package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func suppressionCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "suppression",
		Short: "Check addresses against the suppression list of suppressed and opted-out people",
	}
	check := &cobra.Command{
		Use:   "check [ADDRESS...]",
		Short: "Print, for each address (arguments, or one per line on standard input), whether it is suppressed",
		Long: `check hashes each address with the server secret and looks the hash up in the suppression
list, so marketing imports can drop people who asked to be suppressed. It prints one line per
address: "suppressed", "ok" or "invalid", a tab, and the address as given.

The database is the one named by --database-url or DATABASE_URL, else the dev SQLite file in
--data-dir; the secret is --secret-key or DSR_SECRET_KEY, else the dev data directory's.`,
		RunE: runSuppressionCheck,
	}
	check.Flags().String("database-url", "", "application database: postgres://… or sqlite:PATH (env DATABASE_URL)")
	check.Flags().String("data-dir", defaultDataDir, "data directory of `dsr dev`, used when no database URL is given (env DSR_DATA_DIR)")
	check.Flags().String("secret-key", "", "server secret (env DSR_SECRET_KEY)")
	cmd.AddCommand(check)
	return cmd
}

func runSuppressionCheck(cmd *cobra.Command, args []string) error {
	secret, err := toolSecret(cmd)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		if args, err = readLines(cmd.InOrStdin()); err != nil {
			return err
		}
	}
	db, err := openToolDatabase(cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	hashes := make([]string, len(args))
	for i, a := range args {
		if email, err := domain.NormalizeEmail(a); err == nil {
			hashes[i] = secret.EmailHash(email)
		}
	}
	listed, err := requestdb.New(db).Suppressed(cmd.Context(), hashes)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	for i, a := range args {
		verdict := "ok"
		switch {
		case hashes[i] == "":
			verdict = "invalid"
		case listed[hashes[i]]:
			verdict = "suppressed"
		}
		fmt.Fprintf(out, "%s\t%s\n", verdict, a)
	}
	return nil
}

// toolSecret is the secret given by flag or environment, else the dev data directory's.
func toolSecret(cmd *cobra.Command) (keys.Secret, error) {
	v, _ := cmd.Flags().GetString("secret-key")
	if v == "" {
		v = os.Getenv("DSR_SECRET_KEY")
	}
	if v != "" {
		s, err := keys.ParseSecret(v)
		if err != nil {
			return nil, fmt.Errorf("DSR_SECRET_KEY (--secret-key): %w", err)
		}
		return s, nil
	}
	_, dataDir := tokenDatabase(cmd)
	if dataDir == "" {
		return nil, errors.New("DSR_SECRET_KEY (--secret-key) is required with a database URL")
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, "secret.key"))
	if err != nil {
		return nil, fmt.Errorf("no secret in %s: run `dsr dev` first or set DSR_SECRET_KEY", dataDir)
	}
	return keys.ParseSecret(string(raw))
}

func readLines(r io.Reader) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, sc.Err()
}
