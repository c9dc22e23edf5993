package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestRecordSelfCheckIsIdempotent(t *testing.T) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) {
			db := testenv.OpenMigrated(t, target.URL)
			first := &activities.Activities{Requests: requestdb.New(db), Worker: "worker-a"}
			retry := &activities.Activities{Requests: requestdb.New(db), Worker: "worker-b"}
			in := activities.RecordSelfCheckInput{CheckID: "c1", StartedAt: time.Now()}
			ctx := context.Background()
			if _, err := first.RecordSelfCheck(ctx, in); err != nil {
				t.Fatal(err)
			}
			got, err := retry.RecordSelfCheck(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Worker != "worker-a" {
				t.Errorf("retry reported worker %q, want the first run's worker-a", got.Worker)
			}
			var rows int64
			if err := db.Table("self_checks").Count(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if rows != 1 {
				t.Errorf("rows = %d after a retried activity, want 1", rows)
			}
		})
	}
}
