package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/workflows"
)

// Only `dsr dev` makes a data directory's database: the operator commands refuse a
// directory without one, so a mistyped --data-dir is not quietly given an empty database.
func TestOperatorCommandsRefuseADataDirWithoutData(t *testing.T) {
	empty := t.TempDir()
	missing := filepath.Join(t.TempDir(), "typo")
	secret := strings.Repeat("5e", 32)
	for _, dir := range []string{empty, missing} {
		for _, args := range [][]string{
			{"token", "create", "--role", "analyst", "--name", "ana"},
			{"token", "list"},
			{"token", "revoke", "00000000-0000-0000-0000-000000000000"},
			{"suppression", "check", "--secret-key", secret, "bob@example.com"},
			{"audit", "verify-log"},
			{"audit", "export", "--request", "r1"},
			{"plan", "--request", "r1"},
		} {
			var out syncBuffer
			err := run(context.Background(), append(args, "--data-dir", dir), &out, &out)
			if err == nil || !strings.Contains(err.Error(), "no dsr data in "+dir) {
				t.Errorf("%v in %s: err = %v, want the directory refused", args, dir, err)
			}
		}
	}
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Errorf("the empty directory now holds %v (%v), want nothing", entries, err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the missing directory was made: %v", err)
	}
}

// Export from a dev data directory reads the engine TEMPORAL_ADDRESS names, not the
// embedded server's port on this machine.
func TestAuditExportInDevHonoursTemporalAddress(t *testing.T) {
	s := newStack(t)
	dir := t.TempDir()
	auditedRequest(t, testenv.OpenMigrated(t, "sqlite:"+filepath.Join(dir, "dsr.db")))
	input := workflows.RequestInput{RequestID: "r1", OpenedBy: "marker-for-the-history"}
	_, err := s.client(t).ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: workflows.RequestID("r1"), TaskQueue: "no-worker"}, "Request", input)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_ADDRESS", s.temporal.Address)
	// Nothing listens on the embedded server's port, so falling back to it fails.
	t.Setenv("DSR_TEMPORAL_PORT", freePort(t))
	path := filepath.Join(t.TempDir(), "r1.zip")
	var out syncBuffer
	args := []string{"audit", "export", "--request", "r1", "--out", path, "--data-dir", dir, "--codec-keys", testCodecKeys}
	if err := run(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("export: %v\n%s", err, out.String())
	}
	bundle, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyBundle(bundle, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(bundle), "marker-for-the-history") {
		t.Error("the bundle lacks the history the engine at TEMPORAL_ADDRESS holds")
	}
}
