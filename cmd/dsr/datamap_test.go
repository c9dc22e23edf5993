package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/demo"
)

// The check: an e-mail column added to a demo store that the map does not name
// is found in the demo company of a dev data directory, and no value of it is printed.
func TestDatamapDiscoverFindsAnEmailColumnAddedToTheDemoCompany(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, err := demo.Setup(ctx, "sqlite:"+filepath.Join(dir, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Stores {
		if s.Name != "newsletter" {
			continue
		}
		db, err := sqlstore.OpenDB(ctx, s.Connection)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range []string{`ALTER TABLE subscriptions ADD COLUMN referrer_email TEXT`, `UPDATE subscriptions SET referrer_email = email`} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out syncBuffer
	if err := run(ctx, []string{"datamap", "discover", "--data-dir", dir}, &out, &out); err != nil {
		t.Fatalf("discover: %v\n%s", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "- table: subscriptions # in the map") || !strings.Contains(got, "referrer_email: email_address # named like an e-mail address;") {
		t.Errorf("output does not report subscriptions.referrer_email:\n%s", got)
	}
	if testing.Verbose() {
		t.Log(got)
	}
	if strings.Contains(got, "@") {
		t.Errorf("output holds an address:\n%s", got)
	}
}

func TestDatamapDiscoverRefusesWhenThereIsNothingToScan(t *testing.T) {
	t.Setenv("DSR_DATA_MAP", "")
	t.Setenv("DSR_DEMO_STORE", "")
	var out syncBuffer
	err := run(context.Background(), []string{"datamap", "discover", "--data-dir", t.TempDir()}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "nothing to scan") {
		t.Errorf("err = %v, want nothing to scan", err)
	}
}
