package main

import (
	"crypto/ed25519"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/engine"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/tlog"
)

func auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify the audit log, and export and verify signed evidence bundles",
		Long: `audit proves what happened to requests. verify-log walks the audit log's hash chain;
export writes one request's evidence as a zip signed with the evidence signing key; verify
checks such a bundle offline.

verify-log and export use the database named by --database-url or DATABASE_URL; without
either, the dev SQLite file in --data-dir (DSR_DATA_DIR, default ./.dsr-data), as ` + "`dsr dev`" + ` uses.`,
	}
	cmd.AddCommand(auditVerifyLogCommand(), auditExportCommand(), auditVerifyCommand())
	return cmd
}

func auditVerifyLogCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify-log",
		Short: "Walk the audit log's hash chain and name the first broken link",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openAuditDatabase(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := audit.VerifyChain(cmd.Context(), requestdb.New(db))
			if err != nil {
				return err
			}
			if err := rep.Err(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "audit log intact: %d events, chain head at position %d, hash %s\n", rep.Events, rep.Head.ChainSeq, rep.Head.Hash)
			if rep.Unchained > 0 {
				fmt.Fprintf(out, "%d older events predate the chain and are not covered by it\n", rep.Unchained)
			}
			return nil
		},
	}
	cmd.Flags().String("database-url", "", "application database: postgres://… or sqlite:PATH (env DATABASE_URL)")
	cmd.Flags().String("data-dir", defaultDataDir, "data directory of `dsr dev`, used when no database URL is given (env DSR_DATA_DIR)")
	return cmd
}

// openAuditDatabase opens the configured database, or else the dev one, without migrating:
// verifying must not change what it verifies.
func openAuditDatabase(cmd *cobra.Command) (*database.DB, error) {
	url, dataDir := tokenDatabase(cmd)
	if url == "" {
		path, err := devDatabaseFile(dataDir)
		if err != nil {
			return nil, err
		}
		url = "sqlite:" + path
	}
	return openCurrentDatabase(cmd.Context(), url)
}

// devDatabaseFile is the application database `dsr dev` keeps in dataDir; only `dsr dev`
// creates one.
func devDatabaseFile(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "dsr.db")
	if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
		return "", fmt.Errorf("no dsr data in %s (no dsr.db): give the --data-dir of `dsr dev` (run it once to create one), or --database-url", dataDir)
	}
	return path, nil
}

func auditExportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export --request ID [--out FILE] [--include-pii]",
		Short: "Write a request's signed evidence bundle",
		Long: `export gathers one request's evidence into a zip signed with the evidence signing key:
the request record, its decoded workflow history, its audit events with their chain links,
each system's result, retention exceptions and the notices sent. Personal data (the e-mail
address, the values the requester supplied, data exported for a review, which records a
store kept, and every workflow payload not known to be free of it, such as identity answers
and staff notes) is left out unless --include-pii is given; the manifest says which.

With a database URL it reads the settings ` + "`dsr api`" + ` reads; without one it uses the data
directory and the embedded Temporal server of a running ` + "`dsr dev`" + `.`,
		Args: cobra.NoArgs,
		RunE: runAuditExport,
	}
	cmd.Flags().String("request", "", "ID of the request (required)")
	cmd.Flags().String("out", "", "file to write; - for standard output (default evidence-ID.zip)")
	cmd.Flags().Bool("include-pii", false, "include the personal data that is left out by default")
	cmd.Flags().String("data-dir", defaultDataDir, "data directory of `dsr dev`, used when no database URL is given (env DSR_DATA_DIR)")
	config.Register(cmd.Flags(), config.ModeAPI)
	if err := cmd.MarkFlagRequired("request"); err != nil {
		panic(err) // the flag is defined just above
	}
	return cmd
}

func runAuditExport(cmd *cobra.Command, _ []string) error {
	ctx := cmd.Context()
	requestID, _ := cmd.Flags().GetString("request")
	outPath, _ := cmd.Flags().GetString("out")
	includePII, _ := cmd.Flags().GetBool("include-pii")
	cfg, db, c, err := exportConnections(cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	defer c.Close()
	signer, err := audit.SigningKey(cfg.SigningKey, cfg.Secret)
	if err != nil {
		return err
	}
	var payloads converter.PayloadCodec
	if cfg.Codec != nil {
		payloads = codec.New(cfg.Codec)
	}
	tl, err := tlog.New(db, cfg.Secret, tlog.Origin(cfg.PublicURL))
	if err != nil {
		return err
	}
	deps := audit.ExportDeps{Requests: requestdb.New(db).WithResultKeys(cfg.Codec), History: audit.TemporalHistory(c, payloads), Signer: signer, TransparencyLog: tl}
	bundle, err := audit.Export(ctx, deps, requestID, audit.ExportOptions{IncludePII: includePII})
	if err != nil {
		return err
	}
	if outPath == "-" {
		_, err := cmd.OutOrStdout().Write(bundle)
		return err
	}
	if outPath == "" {
		outPath = "evidence-" + requestID + ".zip"
	}
	if err := os.WriteFile(outPath, bundle, 0o600); err != nil {
		return fmt.Errorf("write evidence bundle: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote the evidence bundle of request %s to %s, signed by key %s\n",
		requestID, outPath, audit.PublicKey(signer).Fingerprint)
	return nil
}

// exportConnections opens the database and Temporal as `dsr api` does when a database URL
// is given, and otherwise as `dsr dev` does, from its data directory.
func exportConnections(cmd *cobra.Command) (config.Config, *database.DB, client.Client, error) {
	if url, _ := tokenDatabase(cmd); url != "" {
		cfg, _, db, c, err := connect(cmd, config.ModeAPI)
		return cfg, db, c, err
	}
	ctx := cmd.Context()
	cfg, log, err := loadConfig(cmd, config.ModeDev)
	if err != nil {
		return cfg, nil, nil, err
	}
	if _, err := devDatabaseFile(cfg.DataDir); err != nil {
		return cfg, nil, nil, err
	}
	if err := devDefaults(&cfg, cfg.HTTPAddr); err != nil {
		return cfg, nil, nil, err
	}
	db, err := openCurrentDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return cfg, nil, nil, err
	}
	temporal := config.Temporal{Address: devTemporalAddress(cmd, cfg), Namespace: cfg.Temporal.Namespace}
	c, err := engine.Dial(ctx, temporal, log, codec.DataConverter(cfg.Codec))
	if err != nil {
		db.Close()
		return cfg, nil, nil, fmt.Errorf("%w (is `dsr dev` running?)", err)
	}
	return cfg, db, c, nil
}

// devTemporalAddress is the engine of a `dsr dev` whose data directory export reads: the
// one --temporal-address or TEMPORAL_ADDRESS names (a dev stack on another machine, or
// behind a forwarded port), else the embedded server's port on this machine.
func devTemporalAddress(cmd *cobra.Command, cfg config.Config) string {
	if f := cmd.Flags().Lookup("temporal-address"); f != nil && f.Changed {
		return f.Value.String()
	}
	if v := os.Getenv("TEMPORAL_ADDRESS"); v != "" {
		return v
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.TemporalPort))
}

func auditVerifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check an evidence bundle offline: digests, signature, audit chain and log proofs",
		Long: `verify checks an evidence bundle without any service: every file's SHA-256 against the
manifest, the manifest's Ed25519 signature, the hash chain of the audit events, and, in
transparency.json, the log checkpoint's signature and each milestone's inclusion proof
against it. It exits non-zero naming the first thing that does not match. Give --public-key,
the key published at /api/v1/audit/public-key, to require that the bundle was signed by it,
and --log-key, the key published at /api/v1/log/public-key, to require that the log signed
the checkpoint; without them the keys the bundle carries are used and printed for you to
compare.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var trusted ed25519.PublicKey
			if s, _ := cmd.Flags().GetString("public-key"); s != "" {
				key, err := audit.ParsePublicKey(s)
				if err != nil {
					return fmt.Errorf("--public-key: %w", err)
				}
				trusted = key
			}
			bundle, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			logKey, _ := cmd.Flags().GetString("log-key")
			rep, err := audit.VerifyBundleTrusting(bundle, audit.Trust{Signer: trusted, LogKey: logKey})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			return printBundleReport(cmd, args[0], rep)
		},
	}
	cmd.Flags().String("public-key", "", "base64 Ed25519 public key the bundle must be signed by")
	cmd.Flags().String("log-key", "", "the transparency log's verifier key (GET /api/v1/log/public-key) that must have signed the checkpoint in transparency.json")
	return cmd
}

func printBundleReport(cmd *cobra.Command, file string, rep audit.BundleReport) error {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s: evidence bundle of request %s, exported %s, verified\n", file, rep.RequestID, rep.CreatedAt.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(out, "  %d audit events linked into the chain up to position %d (hash %s)\n", rep.Events, rep.ChainSeq, rep.ChainHash)
	if rep.Plans > 0 {
		fmt.Fprintf(out, "  %d store plans whose SHA-256 the chain records\n", rep.Plans)
	}
	if len(rep.UnchainedPlans) > 0 {
		fmt.Fprintf(out, "  plans the chain does not record yet (a fan-out still running): %s\n", strings.Join(rep.UnchainedPlans, ", "))
	}
	if rep.Unchained > 0 {
		fmt.Fprintf(out, "  %d older events predate the chain; only the signature covers them\n", rep.Unchained)
	}
	if rep.PersonalData {
		fmt.Fprintln(out, "  the bundle holds personal data")
	}
	if l := rep.Log; l != nil {
		fmt.Fprintf(out, "  %d transparency-log milestones of the request, each proven included in the checkpoint of %d entries of %s\n", l.Entries, l.TreeSize, l.Origin)
		if l.KeyTrusted {
			fmt.Fprintln(out, "  the checkpoint is signed by the trusted log key")
		} else {
			fmt.Fprintf(out, "  the checkpoint is signed by the log key the bundle carries, %s: compare it with the published key, or pass --log-key\n", l.LogKey)
		}
	}
	if !rep.KeyTrusted {
		fmt.Fprintf(out, "  signed by the key it carries, %s: compare it with the published key, or pass --public-key\n", rep.KeyFingerprint)
		return nil
	}
	fmt.Fprintf(out, "  signed by the trusted key %s\n", rep.KeyFingerprint)
	return nil
}
