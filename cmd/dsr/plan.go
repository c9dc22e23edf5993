package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func planCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print what a request was planned to change in each store",
		Long: `plan prints the change plans of a request: per store, per table the rows found, what
happens to each column, what is kept and why, and the order of deletions the store's foreign
keys require, with the SHA-256 that the audit chain's store_planned event records. A request
that waits for approval is planned before it waits; any other is planned as its stores run.
With --json it prints the plans as stored, row keys included.

The database is the one named by --database-url or DATABASE_URL, else the dev SQLite file in
--data-dir; plans are sealed, so it needs the codec keys (--codec-keys or DSR_CODEC_KEYS),
else the dev data directory's.`,
		Args: cobra.NoArgs,
		RunE: runPlan,
	}
	cmd.Flags().String("request", "", "ID of the request (required)")
	cmd.Flags().Bool("json", false, "print the plans as JSON, row keys included")
	cmd.Flags().String("database-url", "", "application database: postgres://… or sqlite:PATH (env DATABASE_URL)")
	cmd.Flags().String("data-dir", defaultDataDir, "data directory of `dsr dev`, used when no database URL is given (env DSR_DATA_DIR)")
	cmd.Flags().String("codec-keys", "", "key ring that seals store results and plans (env DSR_CODEC_KEYS)")
	if err := cmd.MarkFlagRequired("request"); err != nil {
		panic(err) // the flag is defined just above
	}
	return cmd
}

func runPlan(cmd *cobra.Command, _ []string) error {
	requestID, _ := cmd.Flags().GetString("request")
	asJSON, _ := cmd.Flags().GetBool("json")
	db, err := openToolDatabase(cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	ring, err := toolCodec(cmd)
	if err != nil {
		return err
	}
	repo := requestdb.New(db).WithResultKeys(ring)
	req, err := repo.GetRequest(cmd.Context(), requestID)
	if err != nil {
		return err
	}
	plans, err := repo.StorePlans(cmd.Context(), requestID)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(plans)
	}
	fmt.Fprintf(out, "request %s (%s), %s: %d store plans\n", req.ID, req.Type, req.Status, len(plans))
	if len(plans) == 0 && !req.Type.Planned() {
		fmt.Fprintln(out, "a review reads only: there is nothing to plan")
	}
	for _, p := range plans {
		printPlan(out, p)
	}
	return nil
}

// printPlan writes one store's plan as the request page shows it: counts and actions, no
// row keys.
func printPlan(out io.Writer, p requestdb.SealedPlan) {
	fmt.Fprintf(out, "\n%s  planned %s  sha256 %s\n", p.Store, p.PlannedAt.UTC().Format(time.DateTime+" MST"), p.SHA256)
	switch plan := p.Plan; {
	case plan.CannotPlan != "":
		fmt.Fprintf(out, "  cannot plan: %s\n", plan.CannotPlan)
	case plan.Instructions != "":
		fmt.Fprintf(out, "  done by hand: %s\n", plan.Instructions)
	case plan.NotFound:
		fmt.Fprintln(out, "  holds nothing on the requester")
	default:
		for _, t := range plan.Tables {
			var what []string
			if t.Deleted > 0 {
				what = append(what, fmt.Sprintf("%d deleted", t.Deleted))
			}
			for _, c := range t.Columns {
				if c.Action != connector.ActionDelete {
					what = append(what, fmt.Sprintf("%s %s in %d", c.Column, c.Action, c.Rows))
				}
			}
			if t.Kept > 0 {
				what = append(what, fmt.Sprintf("%d kept", t.Kept))
			}
			if len(what) == 0 {
				what = []string{"nothing"}
			}
			fmt.Fprintf(out, "  %s: %d found; %s\n", t.Table, t.Matched, strings.Join(what, ", "))
		}
		for _, k := range plan.Retained {
			until := "until the hold is lifted"
			if !k.Until.IsZero() {
				until = "until " + k.Until.UTC().Format(time.DateOnly)
			}
			fmt.Fprintf(out, "  kept: %s: %s, %s\n", k.What, k.Reason, until)
		}
		if plan.Deletes() {
			fmt.Fprintf(out, "  deletion order: %s\n", strings.Join(plan.Order, ", "))
		}
		for _, c := range plan.Cycles {
			fmt.Fprintf(out, "  foreign keys in a circle: %s\n", strings.Join(c, ", "))
		}
	}
}

// toolCodec is the key ring given by flag or environment, else the one `dsr dev` derives
// from its data directory's secret.
func toolCodec(cmd *cobra.Command) (*codec.Keyring, error) {
	v, _ := cmd.Flags().GetString("codec-keys")
	if v == "" {
		v = os.Getenv("DSR_CODEC_KEYS")
	}
	if v != "" {
		ring, err := codec.ParseKeyring(v)
		if err != nil {
			return nil, fmt.Errorf("DSR_CODEC_KEYS (--codec-keys): %w", err)
		}
		return ring, nil
	}
	if url, _ := tokenDatabase(cmd); url != "" {
		return nil, errors.New("DSR_CODEC_KEYS (--codec-keys) is required with a database URL")
	}
	secret, err := toolSecret(cmd)
	if err != nil {
		return nil, err
	}
	return devCodec(secret)
}
