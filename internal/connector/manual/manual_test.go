package manual_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/manual"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestApplyOpensOneTaskAndAnswersLater(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	repo := requestdb.New(db)
	now := time.Now()
	if err := repo.CreateRequest(context.Background(), &requestdb.Request{ID: "r1", Type: "suppress", Jurisdiction: "gdpr",
		Status: "in_progress", Email: "x", EmailHash: "h", ReceivedAt: now, DueAt: now, OriginalDueAt: now}); err != nil {
		t.Fatal(err)
	}
	c := manual.New(datamap.Store{Name: "paper-files", Kind: datamap.KindManual, Instructions: "Shred the paper file."}, repo)
	for range 2 {
		_, err := c.Apply(context.Background(), connector.Operation{RequestID: "r1", Type: "suppress"})
		if !errors.Is(err, connector.ErrPending) {
			t.Fatalf("err = %v, want ErrPending", err)
		}
	}
	tasks, err := repo.Tasks(context.Background(), requestdb.TaskOpen, 10)
	if err != nil || len(tasks) != 1 || tasks[0].Instructions != "Shred the paper file." {
		t.Fatalf("tasks = %+v, %v; want one with the store's instructions", tasks, err)
	}
}

func TestThePlanOfAManualStoreIsItsInstructions(t *testing.T) {
	c := manual.New(datamap.Store{Name: "paper-files", Kind: datamap.KindManual, Instructions: "Shred the paper file."}, nil)
	p, err := c.Capabilities().Planner.Plan(context.Background(), connector.Operation{RequestID: "r1", Type: "suppress"})
	if err != nil || p.Store != "paper-files" || p.Instructions != "Shred the paper file." || len(p.Tables) > 0 {
		t.Fatalf("plan = %+v, %v; want the store's instructions and no tables", p, err)
	}
}
