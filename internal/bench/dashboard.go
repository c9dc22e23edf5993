package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/internal/database"
)

// DashboardOptions configure the dashboard scenario.
type DashboardOptions struct {
	// Target is the API; its AdminToken reads the staff list.
	Target Target
	// DatabaseURL is the API's own database (PostgreSQL or SQLite), where the scenario
	// seeds request rows directly and deletes them again when it ends.
	DatabaseURL string
	// Rows is how many request rows are seeded; default 100,000.
	Rows int
	// Rounds is how many times each list query is timed; default 40.
	Rounds int
}

// dashboardSeedMarker marks the seeded rows (in opened_by, which lists never show), so
// that the scenario deletes exactly them, and leftovers of an interrupted run.
const dashboardSeedMarker = "dsr-bench-dashboard-seed"

// dashboardPage is how many rows a timed list asks for, the dashboard's own page size.
const dashboardPage = 50

// dashboardAnalysts are who the seeded open requests are assigned to.
var dashboardAnalysts = []string{"analyst-1", "analyst-2", "analyst-3", "analyst-4", "analyst-5", "analyst-6"}

// dashboardQuery is one list the privacy team opens, with a check that its rows match.
type dashboardQuery struct {
	name  string
	query url.Values
	check func(row dashboardRow) bool
}

type dashboardRow struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	Jurisdiction string    `json:"jurisdiction"`
	Status       string    `json:"status"`
	DueAt        time.Time `json:"due_at"`
	Assignee     string    `json:"assignee"`
	Overdue      bool      `json:"overdue"`
}

var openQueue = []string{"awaiting_identity_verification", "pending_review", "needs_attention", "awaiting_manual_tasks"}

var dashboardQueries = []dashboardQuery{
	{"newest first", url.Values{}, func(dashboardRow) bool { return true }},
	{"open queue by due date", url.Values{"status": {strings.Join(openQueue, ",")}, "sort": {"due"}},
		func(r dashboardRow) bool { return slices.Contains(openQueue, r.Status) }},
	{"overdue", url.Values{"overdue": {"true"}, "sort": {"due"}}, func(r dashboardRow) bool { return r.Overdue }},
	{"type and jurisdiction", url.Values{"type": {"suppress"}, "jurisdiction": {"ccpa"}},
		func(r dashboardRow) bool { return r.Type == "suppress" && r.Jurisdiction == "ccpa" }},
	{"one analyst's queue", url.Values{"assignee": {"analyst-3"}, "sort": {"due"}},
		func(r dashboardRow) bool { return r.Assignee == "analyst-3" }},
}

// dashboardDeepPages is how many pages the paging walk follows with each round's cursor.
const dashboardDeepPages = 20

// Dashboard seeds Rows request rows with a realistic spread of types, jurisdictions,
// statuses and dates over two years, then times the staff list through HTTP: common
// filtered lists and a keyset-paged walk 20 pages deep, Rounds times each, one at a time
// as a person clicks. It reports p50 and p95 per list and the p95 of all (goal ≤ 50 ms).
func Dashboard(opts DashboardOptions) Scenario {
	if opts.Rows <= 0 {
		opts.Rows = 100_000
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 40
	}
	if opts.Target.HTTP == nil {
		opts.Target.HTTP = NewHTTPClient(1)
	}
	return Scenario{Name: "dashboard", Run: func(ctx context.Context, progress io.Writer) (figs []Figure, err error) {
		db, err := database.Open(ctx, opts.DatabaseURL)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		defer func() {
			if cleanErr := deleteDashboardSeed(context.WithoutCancel(ctx), db); cleanErr != nil && err == nil {
				err = cleanErr
			}
		}()
		if err := deleteDashboardSeed(ctx, db); err != nil {
			return nil, err
		}
		start := time.Now()
		if err := seedDashboard(ctx, db, opts.Rows, time.Now().UTC()); err != nil {
			return nil, err
		}
		// Statistics as autovacuum would soon gather them; without them the planner guesses.
		if err := db.WithContext(ctx).Exec("ANALYZE requests").Error; err != nil {
			return nil, fmt.Errorf("analyze requests: %w", err)
		}
		fmt.Fprintf(progress, "   seeded %d request rows in %s\n", opts.Rows, time.Since(start).Round(time.Millisecond))
		return timeDashboard(ctx, opts, progress)
	}}
}

func timeDashboard(ctx context.Context, o DashboardOptions, progress io.Writer) ([]Figure, error) {
	byQuery := make([][]time.Duration, len(dashboardQueries)+1)
	var all []time.Duration
	// One untimed round first, so that connections and the database's caches are warm.
	for round := -1; round < o.Rounds; round++ {
		for i, q := range dashboardQueries {
			d, _, _, err := timeList(ctx, o.Target, q, "")
			if err != nil {
				return nil, err
			}
			if round >= 0 {
				byQuery[i], all = append(byQuery[i], d), append(all, d)
			}
		}
		deep, err := walkPages(ctx, o.Target)
		if err != nil {
			return nil, err
		}
		if round >= 0 {
			byQuery[len(dashboardQueries)], all = append(byQuery[len(dashboardQueries)], deep...), append(all, deep...)
		}
		if (round+1)%10 == 0 && round >= 0 {
			fmt.Fprintf(progress, "   %d of %d rounds of lists\n", round+1, o.Rounds)
		}
	}
	var figs []Figure
	for i, d := range byQuery {
		name := fmt.Sprintf("keyset pages 1-%d", dashboardDeepPages)
		if i < len(dashboardQueries) {
			name = dashboardQueries[i].name
		}
		figs = append(figs,
			Figure{Name: name + " p50", Value: Percentile(d, 50), Unit: "ms"},
			Figure{Name: name + " p95", Value: Percentile(d, 95), Unit: "ms"},
		)
	}
	p95 := Percentile(all, 95)
	pass := p95 <= 50
	figs = append(figs,
		Figure{Name: "all lists p50", Value: Percentile(all, 50), Unit: "ms"},
		Figure{Name: "all lists p95", Value: p95, Unit: "ms", Goal: "≤ 50 ms", Pass: &pass},
	)
	return figs, nil
}

// timeList fetches one page of a list, checks that every row matches its filter, and
// returns how long the answer took, the rows and the next page's cursor.
func timeList(ctx context.Context, t Target, q dashboardQuery, cursor string) (time.Duration, []dashboardRow, string, error) {
	v := url.Values{"limit": {fmt.Sprint(dashboardPage)}}
	for k, vs := range q.query {
		v[k] = vs
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	var page struct {
		Requests   []dashboardRow `json:"requests"`
		NextCursor string         `json:"next_cursor"`
	}
	start := time.Now()
	if err := t.call(ctx, http.MethodGet, "/api/v1/admin/requests?"+v.Encode(), t.AdminToken, nil, &page); err != nil {
		return 0, nil, "", err
	}
	d := time.Since(start)
	if len(page.Requests) == 0 || len(page.Requests) > dashboardPage {
		return 0, nil, "", fmt.Errorf("list %q answered %d rows", q.name, len(page.Requests))
	}
	for _, r := range page.Requests {
		if !q.check(r) {
			return 0, nil, "", fmt.Errorf("list %q answered request %s, which does not match its filter", q.name, r.ID)
		}
	}
	return d, page.Requests, page.NextCursor, nil
}

// walkPages follows the cursor of the completed requests, newest first, and fails if a
// request shows up twice.
func walkPages(ctx context.Context, t Target) ([]time.Duration, error) {
	q := dashboardQuery{"completed, paged", url.Values{"status": {"completed"}}, func(r dashboardRow) bool { return r.Status == "completed" }}
	seen := map[string]bool{}
	var out []time.Duration
	cursor := ""
	for page := 0; page < dashboardDeepPages; page++ {
		d, rows, next, err := timeList(ctx, t, q, cursor)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if seen[r.ID] {
				return nil, fmt.Errorf("keyset paging repeated request %s", r.ID)
			}
			seen[r.ID] = true
		}
		out = append(out, d)
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

// seedDashboard inserts n request rows in batches: received over the last two years,
// older ones mostly answered, recent ones spread over the open statuses, half of the open
// ones assigned. Every row is marked with dashboardSeedMarker.
func seedDashboard(ctx context.Context, db *database.DB, n int, now time.Time) error {
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 1000
	const columns = "(id, type, jurisdiction, status, email, email_hash, received_at, due_at, original_due_at, " +
		"assignee, opened_by, updated_at, completed_at)"
	for start := 0; start < n; start += batch {
		var b strings.Builder
		b.WriteString("INSERT INTO requests " + columns + " VALUES ")
		var args []any
		for i := start; i < min(start+batch, n); i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, dashboardRowValues(rng, i, now)...)
		}
		if err := db.WithContext(ctx).Exec(b.String(), args...).Error; err != nil {
			return fmt.Errorf("seed requests: %w", err)
		}
	}
	return nil
}

func dashboardRowValues(rng *rand.Rand, i int, now time.Time) []any {
	received := now.Add(-time.Duration(rng.Int64N(int64(730 * 24 * time.Hour)))).Truncate(time.Microsecond)
	jurisdiction := pickWeighted(rng, []string{"gdpr", "ccpa", "default"}, []int{45, 35, 20})
	typ := pickWeighted(rng, []string{"review", "suppress", "restrict", "correct", "update", "child_erasure"}, []int{35, 30, 20, 8, 5, 2})
	days := map[string]int{"gdpr": 30, "ccpa": 45, "default": 30}[jurisdiction]
	due := received.AddDate(0, 0, days)
	age := now.Sub(received)
	var status string
	var completed any
	switch {
	case age > 60*24*time.Hour || rng.IntN(100) < 40:
		// Older requests are answered; a few recent ones too.
		status = pickWeighted(rng, []string{"completed", "denied", "expired", "cancelled"}, []int{80, 8, 8, 4})
		completed = received.Add(time.Duration(rng.Int64N(int64(min(due.Sub(received), age))))).Truncate(time.Microsecond)
	default:
		status = pickWeighted(rng, []string{"awaiting_email_verification", "awaiting_identity_verification", "pending_review",
			"in_progress", "awaiting_manual_tasks", "needs_attention"}, []int{20, 20, 20, 15, 15, 10})
	}
	assignee := ""
	if completed == nil && rng.IntN(2) == 0 {
		assignee = dashboardAnalysts[rng.IntN(len(dashboardAnalysts))]
	}
	email := fmt.Sprintf("dashboard-%d@bench.example", i)
	hash := sha256.Sum256([]byte(email))
	return []any{uuid.NewString(), typ, jurisdiction, status, email, hex.EncodeToString(hash[:]),
		received, due, due, assignee, dashboardSeedMarker, now, completed}
}

// pickWeighted chooses one of values with the given weights.
func pickWeighted(rng *rand.Rand, values []string, weights []int) string {
	total := 0
	for _, w := range weights {
		total += w
	}
	r := rng.IntN(total)
	for i, w := range weights {
		if r < w {
			return values[i]
		}
		r -= w
	}
	return values[len(values)-1]
}

func deleteDashboardSeed(ctx context.Context, db *database.DB) error {
	if err := db.WithContext(ctx).Exec("DELETE FROM requests WHERE opened_by = ?", dashboardSeedMarker).Error; err != nil {
		return fmt.Errorf("delete seeded requests: %w", err)
	}
	return nil
}
