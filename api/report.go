package api

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/requests"
)

// The report is JSON by default and a readable page with ?format=html; errors are always
// the error JSON, whose message says what to do. The link a
// review's completion mail carries adds expires (unix seconds) and signature (see
// keys.Secret.ReportLinkSignature), which open it without the status token until then.
const (
	reportFormatParam    = "format"
	reportExpiresParam   = "expires"
	reportSignatureParam = "signature"
)

// Error codes of a report link that no longer opens the report.
const (
	codeReportLinkInvalid = "report_link_invalid"
	codeReportLinkExpired = "report_link_expired"
)

var errReportLinkInvalid = failCode(http.StatusUnauthorized, codeReportLinkInvalid,
	"this report link is not valid; use the link from your e-mail as it is, or open the status page")

// requireReportAccess admits the holder of a signed, unexpired report link, and otherwise
// whoever requireStatusToken admits. A tampered link and one for an unknown request get
// the same answer.
func (s *Server) requireReportAccess(next echo.HandlerFunc) echo.HandlerFunc {
	withToken := s.requireStatusToken(next)
	return func(c echo.Context) error {
		q := c.Request().URL.Query()
		if !q.Has(reportSignatureParam) {
			return withToken(c)
		}
		unix, err := strconv.ParseInt(q.Get(reportExpiresParam), 10, 64)
		expires := time.Unix(unix, 0)
		if err != nil || !s.opts.Secret.ValidReportLink(c.Param("id"), expires, q.Get(reportSignatureParam)) {
			return errReportLinkInvalid
		}
		if !s.opts.Now().Before(expires) {
			return failCode(http.StatusGone, codeReportLinkExpired,
				"this report link expired on "+expires.UTC().Format("2 January 2006 15:04 MST")+"; open the status page of your request to download the report")
		}
		row, err := s.findRequest(c.Request().Context(), c.Param("id"))
		if err != nil {
			return err
		}
		c.Set(ctxRequest, row)
		return next(c)
	}
}

func wantsHTML(c echo.Context) bool { return c.QueryParam(reportFormatParam) == "html" }

// Report is the requester's copy of what each of the company's systems found, changed and
// kept; requests.Service.Report builds it.
type Report = requests.Report

func (s *Server) requesterReport(c echo.Context) error {
	report, err := s.svc.Report(c.Request().Context(), currentRequest(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if wantsHTML(c) {
		webHeaders(func(echo.Context) error { return nil })(c)
		return s.render(c, http.StatusOK, "report.html", reportPageOf(report))
	}
	return c.JSON(http.StatusOK, report)
}

// reportPage is the report as the page shows it: per store, each table's records as rows
// of fields, and the notes that say what others hold.
type reportPage struct {
	webPage
	Report
	Stores []storeSection
	// ElsewhereNotes say plainly what we do not hold (requests.Report.HeldElsewhere).
	ElsewhereNotes []string
}

type storeSection struct {
	connector.Result
	Tables []tableSection
}

type tableSection struct {
	Name    string
	Columns []string
	Rows    [][]string
	// Value holds an export entry that is not a list of records, shown as it is.
	Value string
}

func reportPageOf(r Report) reportPage {
	page := reportPage{webPage: webPage{Title: "Your privacy report"}, Report: r, ElsewhereNotes: r.HeldElsewhere}
	for _, res := range r.Stores {
		sec := storeSection{Result: res}
		names := make([]string, 0, len(res.Export))
		for name := range res.Export {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			sec.Tables = append(sec.Tables, tableOf(name, res.Export[name]))
		}
		page.Stores = append(page.Stores, sec)
	}
	return page
}

// tableOf lays an export entry out as a table: a list of records becomes one row per
// record with the union of their fields as columns.
func tableOf(name string, v any) tableSection {
	t := tableSection{Name: name}
	records, ok := v.([]any)
	if !ok {
		if rec, isRecord := v.(map[string]any); isRecord {
			records = []any{rec}
		} else {
			t.Value = cell(v)
			return t
		}
	}
	seen := map[string]bool{}
	for _, r := range records {
		if rec, ok := r.(map[string]any); ok {
			for k := range rec {
				if !seen[k] {
					seen[k] = true
					t.Columns = append(t.Columns, k)
				}
			}
		}
	}
	sort.Strings(t.Columns)
	for _, r := range records {
		rec, ok := r.(map[string]any)
		if !ok {
			t.Rows = append(t.Rows, []string{cell(r)})
			continue
		}
		row := make([]string, len(t.Columns))
		for i, col := range t.Columns {
			if v, has := rec[col]; has {
				row[i] = cell(v)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = cell(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + cell(x[k])
		}
		return strings.Join(parts, "; ")
	}
	return ""
}
