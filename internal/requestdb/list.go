package requestdb

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/dsr-project/dsr/internal/domain"
)

// MaxPage bounds one page of a list; a limit outside 1..MaxPage means MaxPage.
const MaxPage = 1000

func pageSize(limit int) int {
	if limit < 1 || limit > MaxPage {
		return MaxPage
	}
	return limit
}

// RequestFilter selects requests for the staff list. A zero field selects everything; the
// filters that are set must all hold.
type RequestFilter struct {
	ID string
	// EmailHash keeps the requests filed under this keyed hash of an address (see
	// keys.Secret.EmailHash), so that a search by address never holds it in clear.
	EmailHash     string
	Statuses      []domain.Status
	Types         []domain.RequestType
	Jurisdictions []domain.Jurisdiction
	Assignee      string
	// DueBefore keeps requests due before this instant, open or not.
	DueBefore time.Time
	// OverdueAt keeps open requests whose due date had passed at this instant.
	OverdueAt time.Time
	// ByAgent keeps the requests authorized agents made.
	ByAgent bool
}

// RequestOrder is the order of a request list. Every order breaks ties by ID, so that keyset
// pages never skip or repeat a request.
type RequestOrder string

// Request orders.
const (
	ReceivedNewestFirst RequestOrder = "-received"
	ReceivedOldestFirst RequestOrder = "received"
	DueSoonestFirst     RequestOrder = "due"
	DueLatestFirst      RequestOrder = "-due"
)

var requestOrders = map[RequestOrder]struct {
	column string
	desc   bool
}{
	ReceivedNewestFirst: {"received_at", true},
	ReceivedOldestFirst: {"received_at", false},
	DueSoonestFirst:     {"due_at", false},
	DueLatestFirst:      {"due_at", true},
}

// ParseRequestOrder returns the order named s, or an error wrapping domain.ErrInvalid.
func ParseRequestOrder(s string) (RequestOrder, error) {
	if _, ok := requestOrders[RequestOrder(s)]; ok {
		return RequestOrder(s), nil
	}
	return "", fmt.Errorf("unknown order, want received, -received, due or -due: %w", domain.ErrInvalid)
}

// Cursor is the last row of a page: its sort key and its ID. The next page starts after it.
type Cursor struct {
	At time.Time
	ID string
}

// RequestSummary is a request as lists show it. It has no address and no details, so a list
// or an export of one holds no personal data of the requester.
type RequestSummary struct {
	ID           string
	Type         domain.RequestType
	Jurisdiction domain.Jurisdiction
	Status       domain.Status
	ReceivedAt   time.Time
	DueAt        time.Time
	CompletedAt  *time.Time
	Assignee     string
	// AgentName names the authorized agent who made the request, if one did.
	AgentName string
}

// listColumns are the only columns a list reads.
const listColumns = "id, type, jurisdiction, status, received_at, due_at, completed_at, assignee, agent_name"

// terminalStatuses are the statuses for which domain.Status.Terminal holds: a request in
// one of them has been answered and can no longer be overdue.
var terminalStatuses = []domain.Status{domain.StatusCompleted, domain.StatusDenied, domain.StatusCancelled, domain.StatusExpired}

// openCondition keeps open requests. It is written out, not bound, and in the words of the
// partial index requests_open_due_at (migration 00012): a planner can use a partial index
// only when it sees the query imply the index's condition, which bound parameters hide.
var openCondition = func() string {
	quoted := make([]string, len(terminalStatuses))
	for i, s := range terminalStatuses {
		quoted[i] = "'" + string(s) + "'"
	}
	return "status NOT IN (" + strings.Join(quoted, ", ") + ")"
}()

// ListRequests returns up to limit requests that match f, in order, starting after the
// cursor when one is given, and the cursor of the next page: nil on the last page.
func (r *Repo) ListRequests(ctx context.Context, f RequestFilter, order RequestOrder, after *Cursor, limit int) ([]RequestSummary, *Cursor, error) {
	o, ok := requestOrders[order]
	if !ok {
		return nil, nil, fmt.Errorf("list requests: unknown order %q: %w", order, domain.ErrInvalid)
	}
	limit = pageSize(limit)
	q := r.db.WithContext(ctx).Model(&Request{}).Select(listColumns)
	q = f.apply(q)
	dir, cmp := "ASC", ">"
	if o.desc {
		dir, cmp = "DESC", "<"
	}
	if after != nil {
		// A row value comparison, which both engines can answer from the (column, id) index.
		q = q.Where(fmt.Sprintf("(%s, id) %s (?, ?)", o.column, cmp), utc(after.At), after.ID)
	}
	var rows []RequestSummary
	err := q.Order(fmt.Sprintf("%s %s, id %s", o.column, dir, dir)).Limit(limit + 1).Find(&rows).Error
	if err != nil {
		return nil, nil, fmt.Errorf("list requests: %w", err)
	}
	for i := range rows {
		rows[i].ReceivedAt, rows[i].DueAt = utc(rows[i].ReceivedAt), utc(rows[i].DueAt)
		rows[i].CompletedAt = utcPtr(rows[i].CompletedAt)
	}
	if len(rows) <= limit {
		return rows, nil, nil
	}
	rows = rows[:limit]
	last := rows[limit-1]
	next := &Cursor{At: last.ReceivedAt, ID: last.ID}
	if o.column == "due_at" {
		next.At = last.DueAt
	}
	return rows, next, nil
}

func (f RequestFilter) apply(q *gorm.DB) *gorm.DB {
	if f.ID != "" {
		q = q.Where("id = ?", f.ID)
	}
	if f.EmailHash != "" {
		q = q.Where("email_hash = ?", f.EmailHash)
	}
	if len(f.Statuses) > 0 {
		q = q.Where("status IN ?", f.Statuses)
	}
	if len(f.Types) > 0 {
		q = q.Where("type IN ?", f.Types)
	}
	if len(f.Jurisdictions) > 0 {
		q = q.Where("jurisdiction IN ?", f.Jurisdictions)
	}
	if f.Assignee != "" {
		q = q.Where("assignee = ?", f.Assignee)
	}
	if !f.DueBefore.IsZero() {
		q = q.Where("due_at < ?", utc(f.DueBefore))
	}
	if !f.OverdueAt.IsZero() {
		q = q.Where(openCondition+" AND due_at < ?", utc(f.OverdueAt))
	}
	if f.ByAgent {
		q = q.Where("agent_kind <> ''")
	}
	return q
}

// MonthCount counts one request type in one calendar month (UTC): the requests received in
// that month, and those completed or denied in it.
type MonthCount struct {
	Month     string // YYYY-MM
	Type      domain.RequestType
	Received  int
	Completed int
	Denied    int
}

// ResponseTimes summarises the days from receipt to a final answer, completion or denial,
// as CCPA §7102 asks large businesses to publish.
type ResponseTimes struct {
	Count      int
	MedianDays float64
	MeanDays   float64
}

// Metrics are the counts and response times of the requests of a period.
type Metrics struct {
	Months    []MonthCount // by month, then type
	Responses ResponseTimes
	ByType    map[domain.RequestType]ResponseTimes
	// ByMonth are the response times of the answers given in each month (YYYY-MM).
	ByMonth map[string]ResponseTimes
	// ByAgent counts the requests authorized agents made, by agent name, as Months counts
	// them; the type is left empty.
	ByAgent map[string]MonthCount
	// Appeals counts the appeals of refusals received and decided in the period.
	Appeals AppealCounts
}

// AppealCounts are the appeals received in a period, those decided in it by outcome, and
// the days from receipt to decision.
type AppealCounts struct {
	Received, Granted, Denied int
	DaysToDecide              ResponseTimes
}

// appealMetrics counts the appeals received and decided in [from, to).
func appealMetrics(db *gorm.DB, from, to time.Time) (AppealCounts, error) {
	var out AppealCounts
	var received int64
	if err := db.Model(&Appeal{}).Where("received_at >= ? AND received_at < ?", from, to).Count(&received).Error; err != nil {
		return out, fmt.Errorf("appeal metrics: received: %w", err)
	}
	out.Received = int(received)
	var decided []Appeal
	if err := db.Select("status, received_at, decided_at").Where("decided_at >= ? AND decided_at < ?", from, to).Find(&decided).Error; err != nil {
		return out, fmt.Errorf("appeal metrics: decided: %w", err)
	}
	var days []float64
	for _, ap := range decided {
		if ap.Status == domain.AppealGranted {
			out.Granted++
		} else {
			out.Denied++
		}
		days = append(days, ap.DecidedAt.Sub(ap.ReceivedAt).Hours()/24)
	}
	out.DaysToDecide = summarise(days)
	return out, nil
}

// RequestMetrics counts the requests received, completed and denied in [from, to), by type
// and month, and how many days the answers took.
func (r *Repo) RequestMetrics(ctx context.Context, from, to time.Time) (Metrics, error) {
	from, to = utc(from), utc(to)
	db := r.db.WithContext(ctx)
	var received []struct {
		Type       domain.RequestType
		ReceivedAt time.Time
		AgentName  string
	}
	err := db.Model(&Request{}).Select("type, received_at, agent_name").
		Where("received_at >= ? AND received_at < ?", from, to).Find(&received).Error
	if err != nil {
		return Metrics{}, fmt.Errorf("request metrics: received: %w", err)
	}
	var answered []struct {
		Type        domain.RequestType
		Status      domain.Status
		ReceivedAt  time.Time
		CompletedAt time.Time
		AgentName   string
	}
	err = db.Model(&Request{}).Select("type, status, received_at, completed_at, agent_name").
		Where("completed_at >= ? AND completed_at < ? AND status IN ?", from, to, []domain.Status{domain.StatusCompleted, domain.StatusDenied}).
		Find(&answered).Error
	if err != nil {
		return Metrics{}, fmt.Errorf("request metrics: answered: %w", err)
	}

	type key struct {
		month string
		t     domain.RequestType
	}
	counts := map[key]*MonthCount{}
	count := func(at time.Time, t domain.RequestType) *MonthCount {
		k := key{utc(at).Format("2006-01"), t}
		if counts[k] == nil {
			counts[k] = &MonthCount{Month: k.month, Type: t}
		}
		return counts[k]
	}
	byAgent := map[string]MonthCount{}
	for _, row := range received {
		count(row.ReceivedAt, row.Type).Received++
		if row.AgentName != "" {
			c := byAgent[row.AgentName]
			c.Received++
			byAgent[row.AgentName] = c
		}
	}
	var all []float64
	byType := map[domain.RequestType][]float64{}
	byMonth := map[string][]float64{}
	for _, row := range answered {
		mc := count(row.CompletedAt, row.Type)
		agent := byAgent[row.AgentName]
		if row.Status == domain.StatusDenied {
			mc.Denied++
			agent.Denied++
		} else {
			mc.Completed++
			agent.Completed++
		}
		if row.AgentName != "" {
			byAgent[row.AgentName] = agent
		}
		days := row.CompletedAt.Sub(row.ReceivedAt).Hours() / 24
		all = append(all, days)
		byType[row.Type] = append(byType[row.Type], days)
		byMonth[mc.Month] = append(byMonth[mc.Month], days)
	}
	m := Metrics{Responses: summarise(all), ByType: map[domain.RequestType]ResponseTimes{}, ByMonth: map[string]ResponseTimes{}, ByAgent: byAgent}
	for t, days := range byType {
		m.ByType[t] = summarise(days)
	}
	for month, days := range byMonth {
		m.ByMonth[month] = summarise(days)
	}
	for _, mc := range counts {
		m.Months = append(m.Months, *mc)
	}
	sort.Slice(m.Months, func(i, j int) bool {
		if m.Months[i].Month != m.Months[j].Month {
			return m.Months[i].Month < m.Months[j].Month
		}
		return m.Months[i].Type < m.Months[j].Type
	})
	m.Appeals, err = appealMetrics(db, from, to)
	return m, err
}

func summarise(days []float64) ResponseTimes {
	if len(days) == 0 {
		return ResponseTimes{}
	}
	slices.Sort(days)
	sum := 0.0
	for _, d := range days {
		sum += d
	}
	n := len(days)
	median := days[n/2]
	if n%2 == 0 {
		median = (days[n/2-1] + days[n/2]) / 2
	}
	return ResponseTimes{Count: n, MedianDays: median, MeanDays: sum / float64(n)}
}

// AuditFilter selects audit events: those at or after From and before To, of one request,
// taken by one actor (a staff member's name, or a role: system, requester, analyst …), of
// one action. A zero field selects everything.
type AuditFilter struct {
	From      time.Time
	To        time.Time
	RequestID string
	Actor     string
	Action    string
}

// ListAuditEvents returns up to limit events that match f, oldest first, starting after the
// cursor when one is given, and the cursor of the next page: nil on the last page.
func (r *Repo) ListAuditEvents(ctx context.Context, f AuditFilter, after *Cursor, limit int) ([]AuditEvent, *Cursor, error) {
	limit = pageSize(limit)
	q := r.db.WithContext(ctx).Model(&AuditEvent{})
	if !f.From.IsZero() {
		q = q.Where("at >= ?", utc(f.From))
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", utc(f.To))
	}
	if f.RequestID != "" {
		q = q.Where("request_id = ?", f.RequestID)
	}
	if f.Actor != "" {
		q = q.Where("(actor = ? OR role = ?)", f.Actor, f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if after != nil {
		q = q.Where("(at, id) > (?, ?)", utc(after.At), after.ID)
	}
	var events []AuditEvent
	if err := q.Order("at, id").Limit(limit + 1).Find(&events).Error; err != nil {
		return nil, nil, fmt.Errorf("list audit events: %w", err)
	}
	for i := range events {
		events[i].At = utc(events[i].At)
	}
	if len(events) <= limit {
		return events, nil, nil
	}
	events = events[:limit]
	last := events[limit-1]
	return events, &Cursor{At: last.At, ID: last.ID}, nil
}

// AuditActions returns every action the audit log holds, in order, for a search form to
// offer.
func (r *Repo) AuditActions(ctx context.Context) ([]string, error) {
	var actions []string
	if err := r.db.WithContext(ctx).Model(&AuditEvent{}).Distinct("action").Order("action").Pluck("action", &actions).Error; err != nil {
		return nil, fmt.Errorf("audit actions: %w", err)
	}
	return actions, nil
}
