package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/testenv"
)

// An agent who kept a receipt holds a signed checkpoint: saved as the state of dsr log
// verify (jq -j .checkpoint receipt.json), it proves later that the log still extends it.
func TestAReceiptsCheckpointServesAsTheStateOfLogVerify(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	log, url := logServer(t, db)
	appendMilestones(t, db, log, "a", "b")
	receipt, err := log.Receipt(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "cp")
	if err := os.WriteFile(state, []byte(receipt.Checkpoint), 0o644); err != nil {
		t.Fatal(err)
	}
	appendMilestones(t, db, log, "c", "d", "e")
	var out syncBuffer
	err = run(context.Background(), []string{"log", "verify", "--url", url, "--public-key", log.VerifierKey(), "--state", state}, &out, &out)
	if err != nil || !strings.Contains(out.String(), "has 5 entries, consistent with the checkpoint seen before") {
		t.Fatalf("log verify from a receipt's checkpoint: err = %v, output %q", err, out.String())
	}
}
