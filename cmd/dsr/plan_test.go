package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestPlanPrintsEachStoresSealedPlan(t *testing.T) {
	url := testenv.SQLiteURL(t)
	db := testenv.OpenMigrated(t, url)
	keys := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	ring, err := codec.ParseKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	ctx, repo, now := context.Background(), requestdb.New(db).WithResultKeys(ring), time.Now()
	if err := repo.CreateRequest(ctx, &requestdb.Request{ID: "r1", Type: domain.TypeSuppress, Jurisdiction: domain.JurisdictionGDPR,
		Status: domain.StatusPendingReview, Email: "ada@example.com", EmailHash: "h", ReceivedAt: now, DueAt: now, OriginalDueAt: now}); err != nil {
		t.Fatal(err)
	}
	kept, err := repo.SaveStorePlan(ctx, "r1", "shop", connector.ChangePlan{Store: "shop", Order: []string{"order_lines", "orders"},
		Tables: []connector.TableChange{
			{Table: "orders", Matched: 2, Deleted: 1, Kept: 1, Rows: []connector.PlannedRow{{Key: "A-OLD"}, {Key: "A-NEW"}},
				Columns: []connector.ColumnChange{{Column: "number", Action: connector.ActionDelete, Rows: 1}, {Column: "card", Action: connector.ActionNull, Rows: 1}}},
		},
		Retained: []connector.Retention{{What: "order A-NEW", Reason: "Tax law", Until: time.Date(2033, 5, 20, 0, 0, 0, 0, time.UTC)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.SaveStorePlan(ctx, "r1", "paper", connector.ChangePlan{Store: "paper", Instructions: "Shred the file."}); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"plan", "--request", "r1", "--database-url", url, "--codec-keys", keys}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"request r1 (suppress), pending_review: 2 store plans", "shop  planned", "sha256 " + kept.SHA256,
		"  orders: 2 found; 1 deleted, card null in 1, 1 kept", "  kept: order A-NEW: Tax law, until 2033-05-20",
		"  deletion order: order_lines, orders", "paper  planned", "  done by hand: Shred the file."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "A-OLD") {
		t.Errorf("the text output names a row key:\n%s", out.String())
	}

	out.Reset()
	if err := run(ctx, []string{"plan", "--request", "r1", "--json", "--database-url", url, "--codec-keys", keys}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"key": "A-OLD"`) || !strings.Contains(out.String(), `"sha256": "`+kept.SHA256+`"`) {
		t.Errorf("JSON output lacks the row keys or the digest:\n%s", out.String())
	}

	if err := run(ctx, []string{"plan", "--request", "r1", "--database-url", url}, &out, &out); err == nil || !strings.Contains(err.Error(), "DSR_CODEC_KEYS") {
		t.Errorf("without codec keys: %v, want a request for them", err)
	}
}
