// Command dsr runs the data-subject request service: `dsr dev` runs everything in one
// process; `dsr api`, `dsr worker` and `dsr migrate` are the production processes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dsr:", err)
		os.Exit(1)
	}
}

// run executes one dsr command line; tests call it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:           "dsr",
		Short:         "Data-subject request workflows: review, correct, update, suppress and restrict personal data, with proof",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(devCommand(), apiCommand(), workerCommand(), migrateCommand(), tokenCommand(), auditCommand(), suppressionCommand(), benchCommand(), datamapCommand(), receiptCommand(), logCommand(), planCommand())
	err := root.ExecuteContext(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Stopped (Ctrl-C, SIGTERM) while still starting: a clean stop, not a failure.
		return nil
	}
	return err
}
