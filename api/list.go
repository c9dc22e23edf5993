package api

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
)

// Page sizes of the staff list.
const (
	defaultPageSize = 50
	maxPageSize     = 200
	// csvBatch is how many rows an export reads at a time; the export has no limit.
	csvBatch = 1000
)

// RequestList is one page of the staff list. NextCursor, given back as ?cursor=, fetches the
// page after this one; it is absent on the last page.
type RequestList struct {
	Requests   []RequestListItem `json:"requests"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// RequestListItem is a request as the list shows it. It never holds the address or the
// details, so that lists and exports can be shared without personal data.
type RequestListItem struct {
	ID           string              `json:"id"`
	Type         domain.RequestType  `json:"type"`
	Jurisdiction domain.Jurisdiction `json:"jurisdiction"`
	Status       domain.Status       `json:"status"`
	ReceivedAt   time.Time           `json:"received_at"`
	DueAt        time.Time           `json:"due_at"`
	CompletedAt  *time.Time          `json:"completed_at,omitempty"`
	Assignee     string              `json:"assignee,omitempty"`
	// AgentName names the authorized agent who made the request for the person, if one did.
	AgentName string `json:"agent_name,omitempty"`
	// DaysLeft counts calendar days (UTC) from today to the due date: 0 when due today,
	// negative when the due date has passed; absent when the request is closed.
	DaysLeft *int `json:"days_left,omitempty"`
	Overdue  bool `json:"overdue"`
}

// listParams are the query parameters GET /api/v1/admin/requests takes.
var listParams = map[string]bool{
	"status": true, "type": true, "jurisdiction": true, "overdue": true, "due_before": true,
	"assignee": true, "id": true, "sort": true, "limit": true, "cursor": true, "format": true,
	"due": true, "email_hash": true, "by_agent": true,
}

// dueWindows are the values of the due filter: how far ahead of now an open request's due
// date may be. Overdue requests are in every window.
var dueWindows = map[string]time.Duration{"overdue": 0, "today": 24 * time.Hour, "week": 7 * 24 * time.Hour}

// listQuery is a validated list request.
type listQuery struct {
	filter requestdb.RequestFilter
	order  requestdb.RequestOrder
	after  *requestdb.Cursor
	limit  int
	csv    bool
}

func (s *Server) listRequests(c echo.Context) error {
	q, err := s.readListQuery(c)
	if err != nil {
		return err
	}
	if q.csv {
		return s.exportRequests(c, q)
	}
	page, err := s.svc.ListRequests(c.Request().Context(), q.service(false), staffActor(c))
	if err != nil {
		return err
	}
	now := s.opts.Now()
	out := RequestList{Requests: make([]RequestListItem, len(page.Rows))}
	for i, r := range page.Rows {
		out.Requests[i] = listItem(r, now)
	}
	if page.Next != nil {
		out.NextCursor = encodeCursor(requestsCursor(q.order), *page.Next)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

func listItem(r requestdb.RequestSummary, now time.Time) RequestListItem {
	item := RequestListItem{
		ID: r.ID, Type: r.Type, Jurisdiction: r.Jurisdiction, Status: r.Status,
		ReceivedAt: r.ReceivedAt, DueAt: r.DueAt, CompletedAt: r.CompletedAt, Assignee: r.Assignee,
		AgentName: r.AgentName,
	}
	if !r.Status.Terminal() {
		days := int(midnight(r.DueAt).Sub(midnight(now)).Hours() / 24)
		item.DaysLeft = &days
		item.Overdue = now.After(r.DueAt)
	}
	return item
}

func midnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (q listQuery) service(counts bool) requests.ListQuery {
	return requests.ListQuery{Filter: q.filter, Order: q.order, After: q.after, Limit: q.limit, Counts: counts}
}

// readListQuery validates the query string: unknown parameters are refused, so that a typo
// cannot silently widen a list, and every bad value is named in one answer.
func (s *Server) readListQuery(c echo.Context) (listQuery, error) {
	return s.readListParams(c.QueryParams(), c.Request().Header.Get(echo.HeaderAccept))
}

// readListParams is readListQuery of the parameters given, for a page that has some of its
// own; accept is the Accept header, which may ask for CSV.
func (s *Server) readListParams(params url.Values, accept string) (listQuery, error) {
	for name := range params {
		if !listParams[name] {
			return listQuery{}, errUnknownParameter
		}
	}
	fields := map[string]string{}
	q := listQuery{order: requestdb.ReceivedNewestFirst, limit: defaultPageSize}
	f := &q.filter
	f.Statuses = parseList(params, "status", domain.ParseStatus, fields)
	f.Types = parseList(params, "type", domain.ParseRequestType, fields)
	f.Jurisdictions = parseList(params, "jurisdiction", domain.ParseJurisdiction, fields)
	if v := params.Get("overdue"); v != "" {
		overdue, err := strconv.ParseBool(v)
		if err != nil {
			fields["overdue"] = "must be true or false"
		} else if overdue {
			f.OverdueAt = s.opts.Now()
		}
	}
	if v := params.Get("due"); v != "" {
		window, ok := dueWindows[v]
		if !ok {
			fields["due"] = "must be overdue, today or week"
		} else {
			f.OverdueAt = s.opts.Now().Add(window)
		}
	}
	if f.EmailHash = params.Get("email_hash"); f.EmailHash != "" && !isEmailHash(f.EmailHash) {
		fields["email_hash"] = "must be the keyed hash of an address, as the staff pages link it"
	}
	if v := params.Get("due_before"); v != "" {
		t, err := parseInstant(v)
		if err != nil {
			fields["due_before"] = "must be a date (2006-01-02) or an RFC 3339 time"
		}
		f.DueBefore = t
	}
	if f.Assignee = strings.TrimSpace(params.Get("assignee")); len(f.Assignee) > auth.MaxNameLength {
		fields["assignee"] = "is too long"
	}
	switch params.Get("by_agent") {
	case "", "false":
	case "true":
		f.ByAgent = true
	default:
		fields["by_agent"] = "must be true or false"
	}
	if f.ID = params.Get("id"); f.ID != "" {
		if _, err := uuid.Parse(f.ID); err != nil {
			fields["id"] = "must be a request ID"
		}
	}
	if v := params.Get("sort"); v != "" {
		order, err := requestdb.ParseRequestOrder(v)
		if err != nil {
			fields["sort"] = "must be received, -received, due or -due"
		}
		q.order = order
	}
	if v := params.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			fields["limit"] = fmt.Sprintf("must be a number from 1 to %d", maxPageSize)
		}
		q.limit = n
	}
	switch format := params.Get("format"); format {
	case "csv":
		q.csv = true
	case "json":
	case "":
		q.csv = acceptsCSV(accept)
	default:
		fields["format"] = "must be json or csv"
	}
	if len(fields) > 0 {
		return listQuery{}, invalidFields(fields)
	}
	if v := params.Get("cursor"); v != "" && !q.csv {
		after, err := decodeCursor(requestsCursor(q.order), v)
		if err != nil {
			return listQuery{}, badInput("cursor", "is not a cursor of this list in this order")
		}
		q.after = &after
	}
	return q, nil
}

// isEmailHash reports whether s has the form of keys.Secret.EmailHash: 64 lower-case hex digits.
func isEmailHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

func requestsCursor(order requestdb.RequestOrder) string { return "requests" + string(order) }

// parseList reads a parameter given as a comma-separated list, repeated, or both.
func parseList[T any](params url.Values, name string, parse func(string) (T, error), fields map[string]string) []T {
	var out []T
	for _, v := range params[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			x, err := parse(part)
			if err != nil {
				fields[name] = "has an unknown value"
				continue
			}
			out = append(out, x)
		}
	}
	return out
}

// parseInstant reads an RFC 3339 time or a date, which means its midnight UTC.
func parseInstant(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, v)
}

func acceptsCSV(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "text/csv" && params["q"] != "0" {
			return true
		}
	}
	return false
}

// cursorData is what an opaque cursor holds: the list and order it belongs to, so that it
// cannot be replayed against another, and the last row of its page.
type cursorData struct {
	List string    `json:"l"`
	At   time.Time `json:"t"`
	ID   string    `json:"i"`
}

func encodeCursor(list string, at requestdb.Cursor) string {
	raw, _ := json.Marshal(cursorData{List: list, At: at.At, ID: at.ID}) // plain values cannot fail
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeCursor(list string, s string) (requestdb.Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return requestdb.Cursor{}, err
	}
	var d cursorData
	if err := json.Unmarshal(raw, &d); err != nil {
		return requestdb.Cursor{}, err
	}
	if d.List != list || d.ID == "" || d.At.IsZero() {
		return requestdb.Cursor{}, fmt.Errorf("cursor of another list")
	}
	return requestdb.Cursor{At: d.At, ID: d.ID}, nil
}

// csvColumns are the export's columns: the list's, never the address or the details.
var csvColumns = []string{"id", "type", "jurisdiction", "status", "received_at", "due_at", "completed_at", "assignee", "days_left", "overdue"}

// exportRequests streams every request that matches the filters as CSV, in the list's order.
// The first batch is read before the answer starts, so a database that is down still gets a
// proper 503; a failure later can only cut the export short, and is logged.
func (s *Server) exportRequests(c echo.Context, q listQuery) error {
	ctx := c.Request().Context()
	first := q.service(false)
	first.After, first.Limit = nil, csvBatch
	page, err := s.svc.ListRequests(ctx, first, staffActor(c))
	if err != nil {
		return err
	}
	rows, next := page.Rows, page.Next
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="dsr-requests.csv"`)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.Write(csvColumns); err != nil {
		return err
	}
	now := s.opts.Now()
	for {
		for _, r := range rows {
			if err := w.Write(csvRecord(listItem(r, now))); err != nil {
				return err
			}
		}
		if next == nil {
			break
		}
		if rows, next, err = s.opts.Requests.ListRequests(ctx, q.filter, q.order, next, csvBatch); err != nil {
			s.log.Error("request export cut short", "error", err)
			break
		}
	}
	w.Flush()
	return w.Error()
}

func csvRecord(item RequestListItem) []string {
	stamp := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	daysLeft := ""
	if item.DaysLeft != nil {
		daysLeft = strconv.Itoa(*item.DaysLeft)
	}
	record := []string{
		item.ID, string(item.Type), string(item.Jurisdiction), string(item.Status),
		stamp(&item.ReceivedAt), stamp(&item.DueAt), stamp(item.CompletedAt), item.Assignee,
		daysLeft, strconv.FormatBool(item.Overdue),
	}
	for i, cell := range record {
		record[i] = csvSafe(cell)
	}
	return record
}

// csvSafe defuses a cell that a spreadsheet would run as a formula (CSV injection) by
// prefixing a quote. A negative number of days left stays a number: it is ours, not typed in.
func csvSafe(cell string) string {
	if cell == "" {
		return cell
	}
	if _, err := strconv.Atoi(cell); err == nil {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}
