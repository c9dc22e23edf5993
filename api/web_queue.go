package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
)

// The privacy team's queue. Its filters live in the link, so that a view can be bookmarked
// and shared; the filter form posts, so that an address typed into the search box reaches
// neither a link nor a log: it comes back as its keyed hash.

// queueRow is a request of the queue with its deadline badge.
type queueRow struct {
	RequestListItem
	Badge daysLeft
}

// queueTab is a status tab: its label, how many requests it holds under the other filters,
// and the link that shows them.
type queueTab struct {
	Status  domain.Status
	Count   int64
	URL     string
	Current bool
}

type queuePageData struct {
	webPage
	Query    url.Values
	Rows     []queueRow
	Tabs     []queueTab
	Errors   map[string]string
	CSVURL   string
	NextURL  string
	Statuses []domain.Status
	Types    []domain.RequestType
	Juris    []domain.Jurisdiction
	// Search is what the search box shows: a request ID, never an address. ByEmail says the
	// list is one address's requests, and ClearEmailURL is the same view without it.
	Search        string
	ByEmail       bool
	ClearEmailURL string
	// Back is the view's query, which the bulk form carries to come back to it.
	Back   string
	Notice string
}

func (p queuePageData) Selected(name, value string) bool {
	return slices.Contains(p.Query[name], value)
}

// queueNotices are what the queue says after a bulk decision came back to it.
var queueNotices = map[string]string{
	"none": "Tick at least one request, then choose the decision.",
}

// queueView are the parameters a queue link may hold: the list's, less the output format.
func queueView(params url.Values) url.Values {
	out := url.Values{}
	for name, vs := range params {
		if listParams[name] && name != "format" {
			out[name] = vs
		}
	}
	return out
}

// queueURL is the queue's link for a view.
func queueURL(view url.Values) string {
	if len(view) == 0 {
		return "/admin/requests"
	}
	return "/admin/requests?" + view.Encode()
}

// without is a copy of v less the named parameters.
func without(v url.Values, names ...string) url.Values {
	out := url.Values{}
	for name, vs := range v {
		if !slices.Contains(names, name) {
			out[name] = vs
		}
	}
	return out
}

// queuePage lists requests with the filters of GET /api/v1/admin/requests, read by the same
// code, so the links use the API's parameter names; notice is the page's own.
func (s *Server) queuePage(c echo.Context) error {
	params := c.QueryParams()
	page, status, err := s.queueData(c, without(params, "notice"))
	if err != nil {
		return s.renderError(c, err)
	}
	page.Notice = queueNotices[params.Get("notice")]
	return s.render(c, status, "queue.html", page)
}

// queueData reads the queue for a view; a view with bad values comes back with each error
// beside its field and the status to answer with.
func (s *Server) queueData(c echo.Context, params url.Values) (queuePageData, int, error) {
	view := queueView(params)
	page := queuePageData{
		webPage: s.staffPage(c, "Requests"), Query: params, Errors: map[string]string{},
		Statuses: queueStatuses, Types: queueTypes, Juris: queueJuris,
		Search: params.Get("id"), ByEmail: params.Get("email_hash") != "",
		ClearEmailURL: queueURL(without(view, "email_hash", "cursor")), Back: without(view, "cursor").Encode(),
	}
	q, err := s.readListParams(params, "")
	if err != nil {
		ae := asAPIError(err)
		for name, msg := range ae.fields {
			page.Errors[name] = sentence(msg)
		}
		if len(ae.fields) == 0 {
			page.Errors["form"] = sentence(ae.message)
		}
		return page, ae.status, nil
	}
	q.csv = false
	list, err := s.svc.ListRequests(c.Request().Context(), q.service(true), staffActor(c))
	if err != nil {
		return page, 0, err
	}
	now := s.opts.Now()
	for _, r := range list.Rows {
		page.Rows = append(page.Rows, queueRow{RequestListItem: listItem(r, now), Badge: deadlineBadge(r.ReceivedAt, r.DueAt, now, r.Status)})
	}
	page.Tabs = queueTabs(view, list.Counts)
	export := without(view, "cursor", "limit")
	export.Set("format", "csv")
	page.CSVURL = "/api/v1/admin/requests?" + export.Encode()
	if list.Next != nil {
		more := without(view, "cursor")
		more.Set("cursor", encodeCursor(requestsCursor(q.order), *list.Next))
		page.NextURL = queueURL(more)
	}
	return page, http.StatusOK, nil
}

// queueTabs are "All" and a tab per status that holds requests or is chosen, in the order
// a request moves through them.
func queueTabs(view url.Values, counts map[domain.Status]int64) []queueTab {
	base := without(view, "status", "cursor")
	chosen := view["status"]
	all := queueTab{URL: queueURL(base), Current: len(chosen) == 0}
	tabs := []queueTab{}
	for _, st := range queueStatuses {
		n := counts[st]
		all.Count += n
		current := len(chosen) == 1 && chosen[0] == string(st)
		if n == 0 && !current {
			continue
		}
		v := without(base)
		v.Set("status", string(st))
		tabs = append(tabs, queueTab{Status: st, Count: n, URL: queueURL(v), Current: current})
	}
	return append([]queueTab{all}, tabs...)
}

// queueFilters are the form fields copied into the queue's link as they are.
var queueFilters = []string{"status", "type", "jurisdiction", "due", "assignee", "by_agent", "sort"}

// filterForm turns the filter form into the queue's link. The search box takes a request
// ID or an address; an address goes into the link as its keyed hash only.
func (s *Server) filterForm(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return s.renderError(c, readError(err))
	}
	form := c.Request().PostForm
	view := url.Values{}
	for _, name := range queueFilters {
		for _, v := range form[name] {
			if v = strings.TrimSpace(v); v != "" {
				view.Add(name, v)
			}
		}
	}
	switch search := strings.TrimSpace(form.Get("search")); {
	case search == "":
		if h := form.Get("email_hash"); h != "" {
			view.Set("email_hash", h)
		}
	case isRequestID(search):
		view.Set("id", strings.ToLower(search))
	default:
		hash, err := s.svc.EmailSearchKey(search)
		if err != nil {
			page, status, derr := s.queueData(c, view)
			if derr != nil {
				return s.renderError(c, derr)
			}
			for name, msg := range asAPIError(err).fields {
				page.Errors[name] = sentence(msg)
			}
			if status == http.StatusOK {
				status = http.StatusUnprocessableEntity
			}
			return s.render(c, status, "queue.html", page)
		}
		view.Set("email_hash", hash)
	}
	return c.Redirect(http.StatusSeeOther, queueURL(view))
}

func isRequestID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}
