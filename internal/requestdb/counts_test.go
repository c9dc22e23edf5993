package requestdb_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func TestCountByStatusCountsOverdueOnlyAmongOpenRequests(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		seed(t, repo,
			requestdb.Request{ID: "late", ReceivedAt: day(3, 1, 0), DueAt: day(3, 10, 0), Status: domain.StatusInProgress},
			requestdb.Request{ID: "late-too", ReceivedAt: day(3, 1, 0), DueAt: day(3, 14, 23), Status: domain.StatusInProgress},
			requestdb.Request{ID: "in-time", ReceivedAt: day(3, 1, 0), DueAt: day(3, 15, 1), Status: domain.StatusInProgress},
			requestdb.Request{ID: "closed-late", ReceivedAt: day(3, 1, 0), DueAt: day(3, 10, 0), Status: domain.StatusCompleted},
			requestdb.Request{ID: "other-type", ReceivedAt: day(3, 1, 0), DueAt: day(3, 10, 0), Type: domain.TypeSuppress},
		)
		got, err := repo.CountByStatus(context.Background(), day(3, 15, 0))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, byTypeAndStatus)
		want := []requestdb.StatusCount{
			{Type: domain.TypeReview, Status: domain.StatusCompleted, Count: 1, Overdue: 0},
			{Type: domain.TypeReview, Status: domain.StatusInProgress, Count: 3, Overdue: 2},
			{Type: domain.TypeSuppress, Status: domain.StatusReceived, Count: 1, Overdue: 1},
		}
		if !slices.Equal(got, want) {
			t.Errorf("counts = %+v\nwant     %+v", got, want)
		}
	})
}

func byTypeAndStatus(a, b requestdb.StatusCount) int {
	return strings.Compare(string(a.Type)+"/"+string(a.Status), string(b.Type)+"/"+string(b.Status))
}

func TestCountByStatusOfAnEmptyDatabaseIsEmpty(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		got, err := requestdb.New(db).CountByStatus(context.Background(), time.Now())
		if err != nil || len(got) != 0 {
			t.Errorf("counts = %+v, %v; want none", got, err)
		}
	})
}
