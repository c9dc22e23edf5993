package requestdb_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func TestAStorePlanIsSealedKeptOnceAndDroppedForARetry(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		repo := requestdb.New(db).WithResultKeys(ring(t, "k1"))
		mustCreate(t, repo, "r1")
		first := connector.ChangePlan{Store: "crm", Tables: []connector.TableChange{{Table: "customers", Matched: 1,
			Rows: []connector.PlannedRow{{Key: "ada-42", Digest: "d1"}}, Deleted: 1}}}
		kept, err := repo.SaveStorePlan(ctx, "r1", "crm", first)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(first)
		if kept.SHA256 != requestdb.PlanDigest(raw) || kept.Plan.Tables[0].Rows[0].Key != "ada-42" {
			t.Fatalf("kept = %+v, want the plan with the digest of its JSON", kept)
		}
		var stored string
		if err := db.Raw("SELECT plan FROM store_plans WHERE request_id = 'r1'").Row().Scan(&stored); err != nil || strings.Contains(stored, "ada-42") {
			t.Fatalf("stored plan = %q, %v; want it sealed", stored, err)
		}

		second := first
		second.Tables = nil
		again, err := repo.SaveStorePlan(ctx, "r1", "crm", second)
		if err != nil || again.SHA256 != kept.SHA256 {
			t.Fatalf("second save = %+v, %v; want the first plan kept", again, err)
		}

		if err := repo.DropStorePlan(ctx, "r1", "crm"); err != nil {
			t.Fatal(err)
		}
		if _, found, err := repo.StorePlan(ctx, "r1", "crm"); found || err != nil {
			t.Fatalf("after drop: found %v, %v", found, err)
		}
		if _, err := repo.SaveStorePlan(ctx, "r1", "crm", second); err != nil {
			t.Fatal(err)
		}
		plans, err := repo.StorePlans(ctx, "r1")
		if err != nil || len(plans) != 1 || len(plans[0].Plan.Tables) != 0 {
			t.Fatalf("plans = %+v, %v; want the new plan", plans, err)
		}
	})
}
