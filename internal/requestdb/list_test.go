package requestdb_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// day returns midnight UTC of a day in 2026, plus hours.
func day(month time.Month, d, hours int) time.Time {
	return time.Date(2026, month, d, hours, 0, 0, 0, time.UTC)
}

// seed stores requests built from a few fields; the rest are fixed.
func seed(t *testing.T, repo *requestdb.Repo, reqs ...requestdb.Request) {
	t.Helper()
	for _, r := range reqs {
		r.Jurisdiction = cmpOr(r.Jurisdiction, domain.JurisdictionGDPR)
		r.Type = cmpOr(r.Type, domain.TypeReview)
		r.Status = cmpOr(r.Status, domain.StatusReceived)
		r.Email, r.EmailHash = "someone@example.com", "hash-"+r.ID
		if r.DueAt.IsZero() {
			r.DueAt = r.ReceivedAt.AddDate(0, 1, 0)
		}
		r.OriginalDueAt = r.DueAt
		if err := repo.CreateRequest(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func ids(rows []requestdb.RequestSummary) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func TestListRequestsAppliesEveryFilter(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		done := day(3, 20, 0)
		seed(t, repo,
			requestdb.Request{ID: "a", ReceivedAt: day(3, 1, 0), DueAt: day(3, 10, 0), Status: domain.StatusPendingReview, Assignee: "carol"},
			requestdb.Request{ID: "b", ReceivedAt: day(3, 2, 0), DueAt: day(3, 10, 0), Status: domain.StatusCompleted, CompletedAt: &done},
			requestdb.Request{ID: "c", ReceivedAt: day(3, 3, 0), DueAt: day(4, 30, 0), Type: domain.TypeSuppress, Jurisdiction: domain.JurisdictionCCPA},
			requestdb.Request{ID: "d", ReceivedAt: day(3, 4, 0), DueAt: day(3, 12, 0), Type: domain.TypeCorrect, Assignee: "carol"},
		)
		now := day(3, 15, 0)
		for _, c := range []struct {
			name   string
			filter requestdb.RequestFilter
			want   []string
		}{
			{"none", requestdb.RequestFilter{}, []string{"d", "c", "b", "a"}},
			{"id", requestdb.RequestFilter{ID: "c"}, []string{"c"}},
			{"e-mail hash", requestdb.RequestFilter{EmailHash: "hash-c"}, []string{"c"}},
			{"statuses", requestdb.RequestFilter{Statuses: []domain.Status{domain.StatusCompleted, domain.StatusPendingReview}}, []string{"b", "a"}},
			{"types", requestdb.RequestFilter{Types: []domain.RequestType{domain.TypeSuppress, domain.TypeCorrect}}, []string{"d", "c"}},
			{"jurisdiction", requestdb.RequestFilter{Jurisdictions: []domain.Jurisdiction{domain.JurisdictionCCPA}}, []string{"c"}},
			{"assignee", requestdb.RequestFilter{Assignee: "carol"}, []string{"d", "a"}},
			{"due before", requestdb.RequestFilter{DueBefore: day(3, 11, 0)}, []string{"b", "a"}},
			{"overdue: open and past due", requestdb.RequestFilter{OverdueAt: now}, []string{"d", "a"}},
			{"combined", requestdb.RequestFilter{OverdueAt: now, Types: []domain.RequestType{domain.TypeReview}}, []string{"a"}},
		} {
			rows, next, err := repo.ListRequests(context.Background(), c.filter, requestdb.ReceivedNewestFirst, nil, 10)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(rows); !reflect.DeepEqual(got, c.want) || next != nil {
				t.Errorf("%s: got %v (next %v), want %v", c.name, got, next, c.want)
			}
		}
	})
}

func TestListRequestsReadsNoPersonalData(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		seed(t, repo, requestdb.Request{ID: "a", ReceivedAt: day(3, 1, 0), Details: `{"changes":[{"field":"name","value":"Sam"}]}`})
		rows, _, err := repo.ListRequests(context.Background(), requestdb.RequestFilter{}, requestdb.DueSoonestFirst, nil, 10)
		if err != nil || len(rows) != 1 {
			t.Fatalf("rows = %+v, %v", rows, err)
		}
		if s := fmt.Sprintf("%+v", rows[0]); strings.Contains(s, "example.com") || strings.Contains(s, "Sam") {
			t.Errorf("summary %s holds the address or details", s)
		}
		want := requestdb.RequestSummary{ID: "a", Type: domain.TypeReview, Jurisdiction: domain.JurisdictionGDPR, Status: domain.StatusReceived, ReceivedAt: day(3, 1, 0), DueAt: day(4, 1, 0)}
		if !reflect.DeepEqual(rows[0], want) {
			t.Errorf("got  %+v\nwant %+v", rows[0], want)
		}
	})
}

func TestListRequestsPagesNeverSkipOrRepeatARequest(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		// Pairs share a received time and a due date, so the pages must break ties by ID.
		var reqs []requestdb.Request
		for i := range 7 {
			received := day(3, 1+i/2, 0).Add(123456 * time.Microsecond)
			reqs = append(reqs, requestdb.Request{ID: fmt.Sprintf("r%d", 6-i), ReceivedAt: received, DueAt: day(4, 10-i/2, 0)})
		}
		seed(t, repo, reqs...)
		for order, want := range map[requestdb.RequestOrder][]string{
			requestdb.ReceivedOldestFirst: {"r5", "r6", "r3", "r4", "r1", "r2", "r0"},
			requestdb.ReceivedNewestFirst: {"r0", "r2", "r1", "r4", "r3", "r6", "r5"},
			requestdb.DueSoonestFirst:     {"r0", "r1", "r2", "r3", "r4", "r5", "r6"},
			requestdb.DueLatestFirst:      {"r6", "r5", "r4", "r3", "r2", "r1", "r0"},
		} {
			var got []string
			var after *requestdb.Cursor
			for pages := 0; ; pages++ {
				rows, next, err := repo.ListRequests(context.Background(), requestdb.RequestFilter{}, order, after, 3)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(rows)...)
				if next == nil || pages > 5 {
					break
				}
				after = next
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: pages gave %v, want %v", order, got, want)
			}
		}
	})
}

func TestListRequestsRefusesAnUnknownOrder(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		_, _, err := requestdb.New(db).ListRequests(context.Background(), requestdb.RequestFilter{}, "email", nil, 10)
		if !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
	if _, err := requestdb.ParseRequestOrder("-due"); err != nil {
		t.Errorf("ParseRequestOrder(-due) = %v", err)
	}
}

func TestRequestMetricsCountByTypeAndMonthAndTimeTheAnswers(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		at := func(m time.Month, d int) *time.Time { v := day(m, d, 0); return &v }
		seed(t, repo,
			requestdb.Request{ID: "a", ReceivedAt: day(1, 10, 0), Status: domain.StatusCompleted, CompletedAt: at(1, 20)},                           // 10 days
			requestdb.Request{ID: "b", ReceivedAt: day(1, 31, 0), Status: domain.StatusDenied, CompletedAt: at(2, 2)},                               // 2 days
			requestdb.Request{ID: "c", ReceivedAt: day(2, 1, 0), Status: domain.StatusCompleted, CompletedAt: at(2, 31-3)},                          // 27 days
			requestdb.Request{ID: "d", ReceivedAt: day(2, 5, 0), Type: domain.TypeSuppress},                                                         // open
			requestdb.Request{ID: "e", ReceivedAt: day(2, 6, 0), Status: domain.StatusCancelled, CompletedAt: at(2, 7)},                             // not an answer
			requestdb.Request{ID: "f", ReceivedAt: day(2, 7, 0), Type: domain.TypeSuppress, Status: domain.StatusCompleted, CompletedAt: at(2, 12)}, // 5 days
			requestdb.Request{ID: "g", ReceivedAt: day(3, 1, 0)},                                                                                    // after the period
		)
		m, err := repo.RequestMetrics(context.Background(), day(1, 1, 0), day(3, 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		wantMonths := []requestdb.MonthCount{
			{Month: "2026-01", Type: domain.TypeReview, Received: 2, Completed: 1},
			{Month: "2026-02", Type: domain.TypeReview, Received: 2, Completed: 1, Denied: 1},
			{Month: "2026-02", Type: domain.TypeSuppress, Received: 2, Completed: 1},
		}
		if !reflect.DeepEqual(m.Months, wantMonths) {
			t.Errorf("months\n got  %+v\n want %+v", m.Months, wantMonths)
		}
		// Answers took 2, 5, 10 and 27 days.
		if want := (requestdb.ResponseTimes{Count: 4, MedianDays: 7.5, MeanDays: 11}); m.Responses != want {
			t.Errorf("responses = %+v, want %+v", m.Responses, want)
		}
		if got := m.ByType[domain.TypeSuppress]; got != (requestdb.ResponseTimes{Count: 1, MedianDays: 5, MeanDays: 5}) {
			t.Errorf("suppress responses = %+v", got)
		}
		if got := m.ByType[domain.TypeReview]; got.Count != 3 || got.MedianDays != 10 || math.Abs(got.MeanDays-13) > 1e-9 {
			t.Errorf("review responses = %+v, want 3 answers, median 10, mean 13", got)
		}
		// January's one answer took 10 days; February's 2, 5 and 27.
		wantByMonth := map[string]requestdb.ResponseTimes{
			"2026-01": {Count: 1, MedianDays: 10, MeanDays: 10},
			"2026-02": {Count: 3, MedianDays: 5, MeanDays: 34.0 / 3},
		}
		for month, want := range wantByMonth {
			if got := m.ByMonth[month]; got.Count != want.Count || got.MedianDays != want.MedianDays || math.Abs(got.MeanDays-want.MeanDays) > 1e-9 {
				t.Errorf("%s responses = %+v, want %+v", month, got, want)
			}
		}
		if len(m.ByMonth) != len(wantByMonth) {
			t.Errorf("responses by month = %+v, want only %v", m.ByMonth, wantByMonth)
		}
	})
}

// recordStep records one audit event through ApplyStep, as the workflow does.
func recordStep(t *testing.T, repo *requestdb.Repo, requestID string, seq int64, at time.Time, action string) {
	t.Helper()
	_, err := repo.ApplyStep(context.Background(), requestdb.Step{RequestID: requestID, Seq: seq, Event: requestdb.AuditEvent{At: at, Role: "system", Action: action}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestListAuditEventsFiltersByTimeAndRequestAndPages(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		seed(t, repo, requestdb.Request{ID: "a", ReceivedAt: day(3, 1, 0)}, requestdb.Request{ID: "b", ReceivedAt: day(3, 1, 0)})
		recordStep(t, repo, "a", 1, day(3, 1, 1), "received")
		recordStep(t, repo, "b", 1, day(3, 1, 1), "received")
		recordStep(t, repo, "a", 2, day(3, 2, 0), "code_sent")
		recordStep(t, repo, "b", 2, day(3, 3, 0), "code_sent")
		actions := func(evs []requestdb.AuditEvent) []string {
			out := []string{}
			for _, e := range evs {
				out = append(out, e.ID)
			}
			return out
		}
		ctx := context.Background()
		all, next, err := repo.ListAuditEvents(ctx, requestdb.AuditFilter{}, nil, 10)
		if err != nil || next != nil {
			t.Fatal(err, next)
		}
		if got, want := actions(all), []string{"a:1", "b:1", "a:2", "b:2"}; !reflect.DeepEqual(got, want) {
			t.Errorf("all = %v, want %v", got, want)
		}
		window, _, err := repo.ListAuditEvents(ctx, requestdb.AuditFilter{From: day(3, 1, 1), To: day(3, 3, 0)}, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := actions(window), []string{"a:1", "b:1", "a:2"}; !reflect.DeepEqual(got, want) {
			t.Errorf("[1 Mar 01:00, 3 Mar) = %v, want %v", got, want)
		}
		var paged []string
		var after *requestdb.Cursor
		for range 5 {
			page, next, err := repo.ListAuditEvents(ctx, requestdb.AuditFilter{RequestID: "b"}, after, 1)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, actions(page)...)
			if after = next; after == nil {
				break
			}
		}
		if want := []string{"b:1", "b:2"}; !reflect.DeepEqual(paged, want) {
			t.Errorf("request b one at a time = %v, want %v", paged, want)
		}
	})
}

func TestListAuditEventsFiltersByActorAndAction(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		repo := requestdb.New(db)
		seed(t, repo, requestdb.Request{ID: "a", ReceivedAt: day(3, 1, 0)})
		ctx := context.Background()
		for i, e := range []requestdb.AuditEvent{
			{At: day(3, 1, 1), Role: "system", Action: "received"},
			{At: day(3, 1, 2), Role: "requester", Action: "email_verified"},
			{At: day(3, 1, 3), Actor: "ana", Role: "analyst", Action: "approved"},
			{At: day(3, 1, 4), Actor: "ana", Role: "analyst", Action: "note_added"},
			{At: day(3, 1, 5), Actor: "system", Role: "admin", Action: "note_added"},
		} {
			if _, err := repo.ApplyStep(ctx, requestdb.Step{RequestID: "a", Seq: int64(i + 1), Event: e}); err != nil {
				t.Fatal(err)
			}
		}
		ids := func(f requestdb.AuditFilter) []string {
			t.Helper()
			evs, _, err := repo.ListAuditEvents(ctx, f, nil, 10)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, e := range evs {
				out = append(out, e.ID)
			}
			return out
		}
		for _, tc := range []struct {
			f    requestdb.AuditFilter
			want []string
		}{
			{requestdb.AuditFilter{Actor: "ana"}, []string{"a:3", "a:4"}},
			{requestdb.AuditFilter{Actor: "system"}, []string{"a:1", "a:5"}},
			{requestdb.AuditFilter{Actor: "analyst"}, []string{"a:3", "a:4"}},
			{requestdb.AuditFilter{Action: "note_added"}, []string{"a:4", "a:5"}},
			{requestdb.AuditFilter{Actor: "ana", Action: "note_added"}, []string{"a:4"}},
		} {
			if got := ids(tc.f); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%+v = %v, want %v", tc.f, got, tc.want)
			}
		}
		actions, err := repo.AuditActions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"approved", "email_verified", "note_added", "received"}; !reflect.DeepEqual(actions, want) {
			t.Errorf("actions = %v, want %v", actions, want)
		}
	})
}

func TestConcurrentIdempotencyClaimsHaveOneHolder(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		const n = 8
		won := make([]bool, n)
		held := make([]requestdb.IdempotencyKey, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				held[i], won[i], errs[i] = repo.ClaimIdempotencyKey(ctx, requestdb.IdempotencyKey{
					KeyHash: "k", BodyHash: "b", RequestID: fmt.Sprintf("r%d", i), CreatedAt: day(3, 1, 0),
				})
			})
		}
		wg.Wait()
		winners := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if won[i] {
				winners++
			}
			if held[i].RequestID != held[0].RequestID || !held[i].InFlight() {
				t.Errorf("claimant %d sees %+v, claimant 0 sees %+v", i, held[i], held[0])
			}
		}
		if winners != 1 {
			t.Errorf("%d claimants won, want 1", winners)
		}
	})
}

func TestIdempotencyKeyLifecycle(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		claim := func(req string) (requestdb.IdempotencyKey, bool) {
			t.Helper()
			held, won, err := repo.ClaimIdempotencyKey(ctx, requestdb.IdempotencyKey{KeyHash: "k", BodyHash: "b", RequestID: req, CreatedAt: day(3, 1, 0)})
			if err != nil {
				t.Fatal(err)
			}
			return held, won
		}
		held, _ := claim("r1")
		// A stalled claim is taken over once, however many callers try.
		if ok, err := repo.TakeOverIdempotencyKey(ctx, held, day(3, 1, 1)); err != nil || !ok {
			t.Fatalf("take over = %v, %v; want it taken", ok, err)
		}
		if ok, err := repo.TakeOverIdempotencyKey(ctx, held, day(3, 1, 2)); err != nil || ok {
			t.Errorf("second take over of the same record = %v, %v; want refused", ok, err)
		}
		// A failed intake releases its key, so a retry opens a new request.
		if err := repo.ReleaseIdempotencyKey(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if held, won := claim("r2"); !won || held.RequestID != "r2" {
			t.Fatalf("claim after release = %+v, %v; want r2 to hold it", held, won)
		}
		if err := repo.CompleteIdempotencyKey(ctx, "k", `{"id":"r2"}`, day(3, 1, 3)); err != nil {
			t.Fatal(err)
		}
		if err := repo.ReleaseIdempotencyKey(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		held, won := claim("r3")
		if won || held.RequestID != "r2" || held.Answer != `{"id":"r2"}` || held.InFlight() || held.CompletedAt == nil || !held.CompletedAt.Equal(day(3, 1, 3)) {
			t.Errorf("claim after completion = %+v, %v; want r2's answer kept", held, won)
		}
		if ok, err := repo.TakeOverIdempotencyKey(ctx, held, day(3, 2, 0)); err != nil || ok {
			t.Errorf("take over of an answered key = %v, %v; want refused", ok, err)
		}
		if n, err := repo.PurgeIdempotencyKeys(ctx, day(3, 1, 0)); err != nil || n != 0 {
			t.Errorf("purge before creation = %d, %v; want nothing purged", n, err)
		}
		if n, err := repo.PurgeIdempotencyKeys(ctx, day(3, 2, 0)); err != nil || n != 1 {
			t.Errorf("purge = %d, %v; want the one record", n, err)
		}
		if _, won := claim("r4"); !won {
			t.Error("a purged key is still held")
		}
	})
}

func TestOptOutKeepsTheFirstRecordPerAddressAndLimit(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		first := requestdb.OptOut{EmailHash: "h", Limit: domain.LimitAffiliateSharing, Source: "gpc", RequestID: "r1", RecordedAt: day(3, 1, 0)}
		for _, o := range []requestdb.OptOut{first, {EmailHash: "h", Limit: domain.LimitAffiliateSharing, Source: "gpc", RequestID: "r2", RecordedAt: day(3, 2, 0)}} {
			if err := repo.RecordOptOut(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		got, err := repo.OptOuts(ctx, "h")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != first {
			t.Errorf("opt-outs = %+v, want only %+v", got, first)
		}
		if none, err := repo.OptOuts(ctx, "other"); err != nil || len(none) != 0 {
			t.Errorf("another address's opt-outs = %+v, %v", none, err)
		}
	})
}

// TestListQueriesUseIndexesAt100kRows loads 100,000 requests into PostgreSQL and checks that
// the planner answers each list from an index rather than reading the whole table.
func TestListQueriesUseIndexesAt100kRows(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.PostgresURL(t))
	if db.Kind != config.Postgres {
		t.Fatalf("database kind = %s, want postgres", db.Kind)
	}
	err := db.Exec(`INSERT INTO requests (id, type, jurisdiction, status, email, email_hash, received_at, due_at, original_due_at, assignee, updated_at, completed_at)
		SELECT 'req-' || i,
		       (ARRAY['review','correct','update','suppress','restrict'])[1 + i % 5],
		       (ARRAY['gdpr','ccpa','default'])[1 + i % 3],
		       (ARRAY['completed','completed','completed','denied','in_progress','pending_review','awaiting_email_verification','needs_attention'])[1 + i % 8],
		       'x@example.com', md5(i::text),
		       timestamptz '2024-01-01' + i * interval '15 minutes',
		       timestamptz '2024-01-31' + i * interval '15 minutes',
		       timestamptz '2024-01-31' + i * interval '15 minutes',
		       (ARRAY['', 'carol', 'dan'])[1 + i % 3],
		       now(),
		       CASE WHEN i % 8 < 4 THEN timestamptz '2024-01-20' + i * interval '15 minutes' END
		FROM generate_series(1, 100000) AS i`).Error
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("ANALYZE requests").Error; err != nil {
		t.Fatal(err)
	}
	captured := &sqlCapture{Interface: logger.Discard}
	repo := requestdb.New(&database.DB{DB: db.Session(&gorm.Session{Logger: captured}), Kind: db.Kind})
	ctx := context.Background()
	cursor := &requestdb.Cursor{At: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), ID: "req-50000"}
	cases := []struct {
		name   string
		filter requestdb.RequestFilter
		order  requestdb.RequestOrder
		after  *requestdb.Cursor
	}{
		{"newest first", requestdb.RequestFilter{}, requestdb.ReceivedNewestFirst, nil},
		{"a later page", requestdb.RequestFilter{}, requestdb.ReceivedNewestFirst, cursor},
		{"due soonest, a page on", requestdb.RequestFilter{}, requestdb.DueSoonestFirst, cursor},
		{"by status", requestdb.RequestFilter{Statuses: []domain.Status{domain.StatusNeedsAttention}}, requestdb.ReceivedOldestFirst, nil},
		{"overdue", requestdb.RequestFilter{OverdueAt: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}, requestdb.DueSoonestFirst, nil},
		{"assignee", requestdb.RequestFilter{Assignee: "carol"}, requestdb.DueSoonestFirst, nil},
		{"one request", requestdb.RequestFilter{ID: "req-77"}, requestdb.ReceivedNewestFirst, nil},
	}
	for _, c := range cases {
		start := time.Now()
		rows, _, err := repo.ListRequests(ctx, c.filter, c.order, c.after, 50)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if len(rows) == 0 {
			t.Errorf("%s: no rows", c.name)
		}
		var plan []string
		if err := db.Raw("EXPLAIN " + captured.last).Scan(&plan).Error; err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan") {
			t.Errorf("%s (%v) reads the whole table:\n%s\n%s", c.name, took, captured.last, text)
		}
		if c.name == "overdue" && !strings.Contains(text, "requests_open_due_at") {
			t.Errorf("overdue (%v) does not use the index of open requests:\n%s\n%s", took, captured.last, text)
		}
	}
	m, err := repo.RequestMetrics(ctx, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(m.Months) != 12*5 || m.Responses.Count == 0 {
		t.Errorf("a year of metrics = %d months, %+v, %v", len(m.Months), m.Responses, err)
	}
}

// sqlCapture keeps the last statement gorm ran, with its arguments in place.
type sqlCapture struct {
	logger.Interface
	last string
}

func (c *sqlCapture) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	c.last, _ = fc()
}

// SQLite uses a partial index only when the query's condition visibly implies the index's:
// the overdue list must reach requests_open_due_at there too (dsr dev's database).
func TestOverdueListUsesTheOpenRequestsIndexOnSQLite(t *testing.T) {
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
		INSERT INTO requests (id, type, jurisdiction, status, email, email_hash, received_at, due_at, original_due_at, assignee, updated_at)
		SELECT 'req-' || i, 'review', 'gdpr', CASE WHEN i % 10 = 0 THEN 'in_progress' ELSE 'completed' END,
		       'x@example.com', 'h' || i, datetime('2024-01-01', '+' || i || ' hours'),
		       datetime('2024-02-01', '+' || i || ' hours'), datetime('2024-02-01', '+' || i || ' hours'), '', datetime('now')
		FROM n`).Error
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("ANALYZE").Error; err != nil {
		t.Fatal(err)
	}
	// The statement as it runs, placeholders and bound values apart: the planner sees the
	// values only as parameters.
	var query string
	var vars []any
	err = db.Callback().Query().After("gorm:query").Register("test:capture", func(tx *gorm.DB) {
		query, vars = tx.Statement.SQL.String(), append([]any(nil), tx.Statement.Vars...)
	})
	if err != nil {
		t.Fatal(err)
	}
	repo := requestdb.New(db)
	rows, _, err := repo.ListRequests(context.Background(), requestdb.RequestFilter{OverdueAt: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}, requestdb.DueSoonestFirst, nil, 50)
	if err != nil || len(rows) == 0 {
		t.Fatalf("overdue list = %d rows, %v", len(rows), err)
	}
	var plan []struct{ Detail string }
	if err := db.Raw("EXPLAIN QUERY PLAN "+query, vars...).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, p := range plan {
		text = append(text, p.Detail)
	}
	if !strings.Contains(strings.Join(text, "\n"), "requests_open_due_at") {
		t.Errorf("overdue list does not use the index of open requests:\n%s\n%s", query, strings.Join(text, "\n"))
	}
}
