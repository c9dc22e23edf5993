package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/database"
)

// defaultDataDir is where `dsr dev` keeps its state unless told otherwise.
const defaultDataDir = "./.dsr-data"

func tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke the API tokens of staff and auditors",
		Long: `token manages the bearer tokens that staff (analyst, admin) and auditors present to
the API. A token is printed once, when it is created; only its hash is stored.

The database is the one named by --database-url or DATABASE_URL; without either, it is the
dev SQLite file in --data-dir (DSR_DATA_DIR, default ./.dsr-data), as ` + "`dsr dev`" + ` uses.`,
	}
	cmd.PersistentFlags().String("database-url", "", "application database: postgres://… or sqlite:PATH (env DATABASE_URL)")
	cmd.PersistentFlags().String("data-dir", defaultDataDir, "data directory of `dsr dev`, used when no database URL is given (env DSR_DATA_DIR)")
	cmd.AddCommand(tokenCreateCommand(), tokenListCommand(), tokenRevokeCommand())
	return cmd
}

func tokenCreateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create --role ROLE --name NAME",
		Short: "Create a token and print it once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, _ := cmd.Flags().GetString("name")
			roleName, _ := cmd.Flags().GetString("role")
			role, err := auth.ParseRole(roleName)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			repo, closeDB, err := openTokens(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			secret, tok, err := repo.Create(cmd.Context(), name, role)
			if err != nil {
				return err
			}
			// The token alone goes to stdout so that scripts can capture it.
			fmt.Fprintf(cmd.ErrOrStderr(), "Created %s token %q (id %s). It is shown only this once:\n", tok.Role, tok.Name, tok.ID)
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	cmd.Flags().String("name", "", "who holds the token; recorded as the actor of what they do (required)")
	cmd.Flags().String("role", "", "analyst, admin or auditor (required)")
	for _, f := range []string{"name", "role"} {
		if err := cmd.MarkFlagRequired(f); err != nil {
			panic(err) // the flag is defined just above
		}
	}
	return cmd
}

func tokenListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List tokens, revoked ones included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			repo, closeDB, err := openTokens(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			tokens, err := repo.List(cmd.Context())
			if err != nil {
				return err
			}
			return printTokens(cmd.OutOrStdout(), tokens)
		},
	}
}

func tokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token so it no longer signs anyone in",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, closeDB, err := openTokens(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			if err := repo.Revoke(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s\n", args[0])
			return nil
		},
	}
}

func printTokens(w io.Writer, tokens []auth.Token) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tREVOKED")
	for _, t := range tokens {
		revoked := "-"
		if t.RevokedAt != nil {
			revoked = t.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.CreatedAt.Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

// openTokens opens the token store.
func openTokens(cmd *cobra.Command) (*auth.Repo, func(), error) {
	db, err := openToolDatabase(cmd)
	if err != nil {
		return nil, nil, err
	}
	return auth.New(db), db.Close, nil
}

// openToolDatabase opens the database of an operator command (token, suppression). A
// configured database must already be migrated, as for `dsr api`. The dev database must
// exist, so that a mistyped --data-dir is refused rather than given an empty database that
// `dsr dev` never reads; it is migrated here, as `dsr dev` of this version would.
func openToolDatabase(cmd *cobra.Command) (*database.DB, error) {
	ctx := cmd.Context()
	url, dataDir := tokenDatabase(cmd)
	if url != "" {
		return openCurrentDatabase(ctx, url)
	}
	path, err := devDatabaseFile(dataDir)
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return database.OpenMigrated(ctx, "sqlite:"+path, quiet)
}

// tokenDatabase returns the database URL to use, or else the dev data directory. A flag
// wins over the environment, and a database URL over a data directory given the same way,
// so that `--data-dir` reaches the dev file even where DATABASE_URL is set.
func tokenDatabase(cmd *cobra.Command) (url, dataDir string) {
	flags := cmd.Flags()
	url, _ = flags.GetString("database-url")
	dataDir, _ = flags.GetString("data-dir")
	switch {
	case flags.Changed("database-url"):
		return url, ""
	case flags.Changed("data-dir"):
		return "", dataDir
	}
	if v := os.Getenv("DATABASE_URL"); v != "" {
		return v, ""
	}
	if v := os.Getenv("DSR_DATA_DIR"); v != "" {
		return "", v
	}
	return "", dataDir
}
