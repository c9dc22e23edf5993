package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/internal/tlog"
	"github.com/dsr-project/dsr/workflows"
)

// auditedRequest stores request r1 with two audit events.
func auditedRequest(t *testing.T, db *database.DB) *requestdb.Repo {
	t.Helper()
	ctx, repo := context.Background(), requestdb.New(db)
	now := time.Now()
	err := repo.CreateRequest(ctx, &requestdb.Request{
		ID: "r1", Type: domain.TypeReview, Jurisdiction: domain.JurisdictionGDPR, Status: domain.StatusReceived,
		Email: "audited@example.com", EmailHash: "h", ReceivedAt: now, DueAt: now, OriginalDueAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	for seq := range int64(2) {
		_, err := repo.ApplyStep(ctx, requestdb.Step{RequestID: "r1", Seq: seq + 1, Event: requestdb.AuditEvent{Actor: "system", Action: "step"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

func TestAuditVerifyLogPassesAnIntactLogAndNamesTheFirstBrokenLink(t *testing.T) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) {
			db := testenv.OpenMigrated(t, target.URL)
			auditedRequest(t, db)
			var out syncBuffer
			args := []string{"audit", "verify-log", "--database-url", target.URL}
			if err := run(context.Background(), args, &out, &out); err != nil || !strings.Contains(out.String(), "intact: 2 events") {
				t.Fatalf("intact log: err = %v, output %q", err, out.String())
			}
			drop := []string{"DROP TRIGGER audit_events_no_update"}
			if db.Kind == config.Postgres {
				drop = []string{"DROP TRIGGER audit_events_append_only ON audit_events"}
			}
			for _, sql := range append(drop, `UPDATE audit_events SET actor = 'mallory' WHERE id = 'r1:2'`) {
				if err := db.Exec(sql).Error; err != nil {
					t.Fatal(err)
				}
			}
			err := run(context.Background(), args, &out, &out)
			if err == nil || !strings.Contains(err.Error(), "r1:2") || !strings.Contains(err.Error(), "altered") {
				t.Errorf("altered log: err = %v, want the altered event r1:2 named", err)
			}
		})
	}
}

func TestAuditVerifyChecksABundleOffline(t *testing.T) {
	repo := auditedRequest(t, testenv.OpenMigrated(t, testenv.SQLiteURL(t)))
	_, key, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	history := func(context.Context, string) (*historypb.History, error) { return &historypb.History{}, nil }
	bundle, err := audit.Export(context.Background(), audit.ExportDeps{Requests: repo, History: history, Signer: key}, "r1", audit.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.zip"), filepath.Join(dir, "bad.zip")
	tampered := bytes.Clone(bundle)
	tampered[len(tampered)/2] ^= 1
	for path, data := range map[string][]byte{good: bundle, bad: tampered} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(file string, key ed25519.PrivateKey) (string, error) {
		var out syncBuffer
		err := run(context.Background(), []string{"audit", "verify", file, "--public-key", audit.PublicKey(key).PublicKey}, &out, &out)
		return out.String(), err
	}
	if out, err := verify(good, key); err != nil || !strings.Contains(out, "verified") || !strings.Contains(out, "trusted key") {
		t.Errorf("good bundle: err = %v, output %q", err, out)
	}
	if _, err := verify(bad, key); err == nil || !strings.Contains(err.Error(), "bad.zip") || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("changed bundle: err = %v, want it named as not verifying", err)
	}
	if _, err := verify(good, other); err == nil || !strings.Contains(err.Error(), "not by the trusted key") {
		t.Errorf("other key: err = %v, want the key mismatch named", err)
	}
}

// The exported history is the one the engine holds, with the codec's encryption undone.
func TestAuditExportWritesAVerifiableBundleWithTheDecodedHistory(t *testing.T) {
	s := newStack(t)
	auditedRequest(t, testenv.OpenMigrated(t, s.dbURL))
	c := s.client(t)
	input := workflows.RequestInput{RequestID: "r1", OpenedBy: "marker-for-the-history"}
	_, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: workflows.RequestID("r1"), TaskQueue: "no-worker"}, "Request", input)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "r1.zip")
	var out syncBuffer
	args := append([]string{"audit", "export", "--request", "r1", "--out", path}, s.common...)
	if err := run(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("export: %v\n%s", err, out.String())
	}
	bundle, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.VerifyBundle(bundle, nil)
	if err != nil || rep.Events != 2 {
		t.Fatalf("report = %+v, err %v; want 2 events", rep, err)
	}
	if !strings.Contains(string(bundle), "marker-for-the-history") {
		t.Error("history.json lacks the workflow input in clear")
	}
	if strings.Contains(string(bundle), "audited@example.com") {
		t.Error("the bundle holds the e-mail address")
	}
}

// `dsr audit verify` checks the bundle's transparency.json and says so: against --log-key,
// or else against the key the evidence carries, which it prints to compare.
func TestAuditVerifyChecksTheTransparencyEvidence(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo := auditedRequest(t, db)
	log, err := tlog.New(db, keys.Secret([]byte("0123456789abcdef0123456789abcdef")), "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	appendMilestones(t, db, log, "r0", "r1", "r2")
	_, key, _ := ed25519.GenerateKey(nil)
	history := func(context.Context, string) (*historypb.History, error) { return &historypb.History{}, nil }
	bundle, err := audit.Export(context.Background(), audit.ExportDeps{Requests: repo, History: history, Signer: key, TransparencyLog: log}, "r1", audit.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "evidence.zip")
	if err := os.WriteFile(file, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(extra ...string) (string, error) {
		var out syncBuffer
		err := run(context.Background(), append([]string{"audit", "verify", file}, extra...), &out, &out)
		return out.String(), err
	}
	out, err := verify("--log-key", log.VerifierKey())
	if err != nil || !strings.Contains(out, "1 transparency-log milestones of the request, each proven included in the checkpoint of 3 entries of dsr.test/log") ||
		!strings.Contains(out, "signed by the trusted log key") {
		t.Errorf("with the log key: err = %v, output %q", err, out)
	}
	if out, err := verify(); err != nil || !strings.Contains(out, "the log key the bundle carries, "+log.VerifierKey()) {
		t.Errorf("without the log key: err = %v, output %q", err, out)
	}
	other, err := tlog.VerifierKey(keys.Secret([]byte("another secret of thirty-two b..")), "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify("--log-key", other); err == nil || !strings.Contains(err.Error(), "transparency.json") {
		t.Errorf("another log's key: err = %v, want transparency.json named", err)
	}
}
