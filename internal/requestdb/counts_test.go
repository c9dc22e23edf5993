package requestdb_test

import (
	"context"
	"maps"
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

func TestCountStatusesCountsEachStatusUnderTheOtherFilters(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		seed(t, repo,
			requestdb.Request{ID: "a", ReceivedAt: day(3, 1, 0), Status: domain.StatusPendingReview},
			requestdb.Request{ID: "b", ReceivedAt: day(3, 1, 0), Status: domain.StatusPendingReview},
			requestdb.Request{ID: "c", ReceivedAt: day(3, 1, 0), Status: domain.StatusCompleted},
			requestdb.Request{ID: "d", ReceivedAt: day(3, 1, 0), Status: domain.StatusPendingReview, Type: domain.TypeSuppress},
		)
		// The status filter is the tab's own: counts ignore it, and keep the type filter.
		f := requestdb.RequestFilter{Types: []domain.RequestType{domain.TypeReview}, Statuses: []domain.Status{domain.StatusCompleted}}
		got, err := repo.CountStatuses(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		want := map[domain.Status]int64{domain.StatusPendingReview: 2, domain.StatusCompleted: 1}
		if !maps.Equal(got, want) {
			t.Errorf("counts = %v, want %v", got, want)
		}
	})
}

func TestStaffSearchesAreKeptAndNeverChanged(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		s := requestdb.StaffSearch{ID: "s1", At: day(3, 1, 9), Actor: "carol", ActorID: "tok-1", Role: "analyst", Kind: requestdb.SearchByEmail}
		if err := repo.RecordSearch(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		got, err := repo.StaffSearches(context.Background(), 10)
		if err != nil || len(got) != 1 || got[0] != s {
			t.Fatalf("searches = %+v, %v; want %+v", got, err, s)
		}
		if err := db.Exec("UPDATE staff_searches SET actor = 'mallory'").Error; err == nil {
			t.Error("a search was rewritten")
		}
		if err := db.Exec("DELETE FROM staff_searches").Error; err == nil {
			t.Error("a search was deleted")
		}
	})
}
