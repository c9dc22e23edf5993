package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsr-project/dsr/internal/tlog"
)

func logWitnessCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "witness --key-file FILE --state-file FILE --log-key KEY [--listen ADDR] [--name NAME]",
		Short: "Run a witness that cosigns the log's checkpoints (C2SP tlog-witness)",
		Long: `witness serves POST /add-checkpoint of the C2SP tlog-witness protocol for one log, the one
--log-key verifies. It cosigns a checkpoint only when its consistency proof shows that it
extends the last checkpoint it cosigned, which it keeps in --state-file, so a log rewritten
behind its back never gets its cosignature again. Monitors read that checkpoint at
GET /<hex SHA-256 of the log's origin>/checkpoint.

Its signing key lives in --key-file; when the file does not exist one is made for --name (a
schema-less URL naming the witness, such as witness.example/w1). It prints its verifier key,
for the log's DSR_LOG_WITNESSES and for monitors' --witness-key, then serves until stopped.
Run it somewhere the log's operator does not control.`,
		Args: cobra.NoArgs,
		RunE: runLogWitness,
	}
	cmd.Flags().String("key-file", "", "file holding the witness's signing key (required)")
	cmd.Flags().String("name", "", "the witness's name, to make a key when --key-file does not exist")
	cmd.Flags().String("state-file", "", "file keeping the last checkpoint cosigned (required)")
	cmd.Flags().String("log-key", "", "the log's verifier key, as `dsr log public-key` prints it (required)")
	cmd.Flags().String("listen", "127.0.0.1:7380", "address to serve on")
	for _, f := range []string{"key-file", "state-file", "log-key"} {
		if err := cmd.MarkFlagRequired(f); err != nil {
			panic(err) // the flag is defined just above
		}
	}
	return cmd
}

func runLogWitness(cmd *cobra.Command, _ []string) error {
	flags := cmd.Flags()
	keyFile, _ := flags.GetString("key-file")
	name, _ := flags.GetString("name")
	stateFile, _ := flags.GetString("state-file")
	logKey, _ := flags.GetString("log-key")
	addr, _ := flags.GetString("listen")
	skey, err := loadOrCreateWitnessKey(keyFile, name)
	if err != nil {
		return err
	}
	w, err := tlog.NewWitness(skey, logKey, stateFile)
	if err != nil {
		return err
	}
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "witness key: %s\n", w.VerifierKey())
	fmt.Fprintf(out, "witness listening on http://%s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-cmd.Context().Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// loadOrCreateWitnessKey reads the witness's signer key, making one for name the first
// time. The file is readable by its owner only.
func loadOrCreateWitnessKey(path, name string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("witness key: %w", err)
	}
	if name == "" {
		return "", fmt.Errorf("%s does not exist: give --name to make a witness key there", path)
	}
	skey, err := tlog.NewWitnessKey(name)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("witness key: %w", err)
	}
	if _, err := fmt.Fprintln(f, skey); err != nil {
		f.Close()
		return "", fmt.Errorf("witness key: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("witness key: %w", err)
	}
	return skey, nil
}
