package requestdb_test

import (
	"context"
	"testing"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func TestRecordSelfCheckKeepsTheFirstRecord(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		first := requestdb.SelfCheck{ID: "c1", StartedAt: at(1), RecordedAt: at(2), Worker: "worker-a"}
		got, err := repo.RecordSelfCheck(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		want := requestdb.SelfCheck{ID: "c1", StartedAt: kept(at(1)), RecordedAt: kept(at(2)), Worker: "worker-a"}
		if got != want {
			t.Errorf("recorded %+v, want %+v", got, want)
		}
		again, err := repo.RecordSelfCheck(ctx, requestdb.SelfCheck{ID: "c1", StartedAt: at(1), RecordedAt: at(3), Worker: "worker-b"})
		if err != nil {
			t.Fatal(err)
		}
		if again != want {
			t.Errorf("a second record of c1 returned %+v, want the first, %+v", again, want)
		}
	})
}
