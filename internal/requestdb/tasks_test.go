package requestdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func TestTaskOpensOnceAndCompletesOnce(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		mustCreate(t, repo, "r1")
		ctx := context.Background()
		task := requestdb.Task{RequestID: "r1", Store: "paper-files", Operation: "suppress", Instructions: "shred", DueAt: time.Now().Add(time.Hour)}
		for range 2 {
			if err := repo.CreateTask(ctx, task); err != nil {
				t.Fatal(err)
			}
		}
		open, err := repo.Tasks(ctx, requestdb.TaskOpen, 10)
		if err != nil || len(open) != 1 {
			t.Fatalf("open tasks = %v, %v; want one", open, err)
		}
		done, err := repo.CompleteTask(ctx, open[0].ID, connector.Result{Changed: []string{"name"}}, "shredded", "ana")
		if err != nil || done.Status != requestdb.TaskDone || done.CompletedBy != "ana" {
			t.Fatalf("complete: %+v, %v", done, err)
		}
		if _, err := repo.CompleteTask(ctx, open[0].ID, connector.Result{}, "", "bob"); !errors.Is(err, requestdb.ErrConflict) {
			t.Errorf("second completion: err = %v, want ErrConflict", err)
		}
		if _, err := repo.CompleteTask(ctx, "nope", connector.Result{}, "", "bob"); !errors.Is(err, requestdb.ErrNotFound) {
			t.Errorf("unknown task: err = %v, want ErrNotFound", err)
		}
	})
}
