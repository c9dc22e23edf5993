package requestdb_test

import (
	"context"
	"testing"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func TestStoreResultIsReplacedByARerun(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		mustCreate(t, repo, "r1")
		ctx := context.Background()
		first := connector.Result{Store: "crm", Found: []string{"name"}, Export: map[string]any{"name": "A"}}
		if err := repo.SaveStoreResult(ctx, "r1", "crm", first); err != nil {
			t.Fatal(err)
		}
		rerun := connector.Result{Store: "crm", Found: []string{"name", "phone"}}
		if err := repo.SaveStoreResult(ctx, "r1", "crm", rerun); err != nil {
			t.Fatal(err)
		}
		got, err := repo.StoreResults(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got[0].Found) != 2 || got[0].Export != nil {
			t.Errorf("results = %+v, want only the rerun's", got)
		}
	})
}
