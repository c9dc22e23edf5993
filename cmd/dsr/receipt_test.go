package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/testenv"
	"github.com/dsr-project/dsr/internal/tlog"
)

func TestReceiptVerifyChecksAReceiptOffline(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	log, err := tlog.New(db, keys.Secret([]byte("0123456789abcdef0123456789abcdef")), "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		err := db.Transaction(func(tx *gorm.DB) error {
			_, err := log.AppendTx(tx, tlog.MilestoneStep{RequestID: id, Milestone: tlog.Received,
				At: time.Now(), DueAt: time.Now().AddDate(0, 1, 0), RequestType: domain.TypeReview})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	receipt, err := log.Receipt(context.Background(), "b")
	if err != nil {
		t.Fatal(err)
	}
	good, err := json.Marshal(receipt)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"good.json": string(good),
		"bad.json":  strings.Replace(string(good), `"received"`, `"completed"`, 1),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(name, key string) (string, error) {
		var out syncBuffer
		err := run(context.Background(), []string{"receipt", "verify", filepath.Join(dir, name), "--public-key", key}, &out, &out)
		return out.String(), err
	}
	if out, err := verify("good.json", log.VerifierKey()); err != nil || !strings.Contains(out, "verified: received of request b, entry 1 of 3") {
		t.Errorf("good receipt: err = %v, output %q", err, out)
	}
	if _, err := verify("bad.json", log.VerifierKey()); err == nil || !strings.Contains(err.Error(), "not in the checkpoint's tree") {
		t.Errorf("changed receipt: err = %v, want it refused", err)
	}
	other, err := tlog.New(db, keys.Secret([]byte("another secret of thirty-two b.")), "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify("good.json", other.VerifierKey()); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("other key: err = %v, want the signature refused", err)
	}
}
