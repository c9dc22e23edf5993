package requestdb_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// onEveryEngine runs test against a fresh, migrated PostgreSQL schema and SQLite file.
func onEveryEngine(t *testing.T, test func(t *testing.T, db *database.DB)) {
	for _, target := range testenv.Databases(t) {
		t.Run(target.Name, func(t *testing.T) { test(t, testenv.OpenMigrated(t, target.URL)) })
	}
}

// at returns a fixed instant with sub-microsecond digits, to prove they are truncated.
func at(day int) time.Time {
	return time.Date(2026, 3, day, 9, 30, 15, 123456789, time.FixedZone("CET", 3600))
}

// kept is t as the database keeps it: UTC, microseconds.
func kept(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func newRequest(id string) *requestdb.Request {
	ack := at(5)
	return &requestdb.Request{
		ID: id, Type: domain.TypeReview, Jurisdiction: domain.JurisdictionGDPR,
		Status: domain.StatusReceived, Email: "someone@example.com", EmailHash: "ab12",
		Details: `{"note":"x"}`, StatusTokenHash: "cd34",
		ReceivedAt: at(1), DueAt: at(31), OriginalDueAt: at(31), AcknowledgeBy: &ack,
	}
}

func mustCreate(t *testing.T, repo *requestdb.Repo, id string) *requestdb.Request {
	t.Helper()
	req := newRequest(id)
	if err := repo.CreateRequest(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestCreatedRequestReadsBackEqual(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		want := mustCreate(t, repo, "r1")
		got, err := repo.GetRequest(context.Background(), "r1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		if got.ReceivedAt != kept(at(1)) {
			t.Errorf("ReceivedAt = %v, want %v in UTC", got.ReceivedAt, at(1))
		}
	})
}

func TestGetRequestReportsNotFound(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		_, err := requestdb.New(db).GetRequest(context.Background(), "missing")
		if !errors.Is(err, requestdb.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestCreateRequestReportsDuplicateID(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		mustCreate(t, repo, "r1")
		err := repo.CreateRequest(context.Background(), newRequest("r1"))
		if !errors.Is(err, requestdb.ErrConflict) {
			t.Errorf("err = %v, want ErrConflict", err)
		}
	})
}
