package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/requests"
)

// The report is JSON by default and a readable page with ?format=html, and report.zip is
// its portable copy; errors are always the error JSON, whose message says what to do. The
// link a review's completion mail carries adds expires (unix seconds) and signature (see
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

// reportLanguage is the language of the report, its portable copy and its page: the one
// every requester page speaks (see pageLocalizer), so ?lang= may ask for it.
func (s *Server) reportLanguage(c echo.Context) string { return s.pageLocalizer(c).Code() }

// Report is the requester's copy of what the company found, changed and kept, in their
// words; requests.Service.Report builds it.
type Report = requests.Report

func (s *Server) requesterReport(c echo.Context) error {
	report, err := s.svc.Report(c.Request().Context(), currentRequest(c), s.reportLanguage(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if wantsHTML(c) {
		webHeaders(func(echo.Context) error { return nil })(c)
		return s.render(c, http.StatusOK, "report.html", s.newReportPage(c, report))
	}
	return c.JSON(http.StatusOK, report)
}

// reportPage is the report as the page shows it, with the link to its portable copy.
type reportPage struct {
	webPage
	Report
	// CopyLink opens the portable copy the way the page itself was opened (a signed
	// link's query), in the page's language.
	CopyLink string
	// TypeWords says what the request asked, in the page's language.
	TypeWords string
}

func (s *Server) newReportPage(c echo.Context, report Report) reportPage {
	p := reportPage{webPage: s.publicPage(c, "report_title"), Report: report}
	q := c.Request().URL.Query() // a copy, which the switch's links may change
	copyQuery := url.Values{langParam: {p.Lang()}}
	if q.Has(reportSignatureParam) {
		copyQuery.Set(reportExpiresParam, q.Get(reportExpiresParam))
		copyQuery.Set(reportSignatureParam, q.Get(reportSignatureParam))
	}
	p.CopyLink = "report.zip?" + copyQuery.Encode()
	p.TypeWords = requestWords(p.localizer(), currentRequest(c))
	// The language switch keeps the rest of the query: the page's format, a signed link.
	for i, l := range p.Switch {
		q.Set(langParam, l.Code)
		p.Switch[i].Href = c.Request().URL.Path + "?" + q.Encode()
	}
	return p
}

// portableCopy serves the report's portable copy, a ZIP built afresh from the sealed
// results, behind the same access as the report.
func (s *Server) portableCopy(c echo.Context) error {
	row := currentRequest(c)
	zipped, err := s.svc.PortableCopy(c.Request().Context(), row, s.reportLanguage(c))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+requests.PortableCopyName(row.ID, s.opts.Now())+`"`)
	return c.Blob(http.StatusOK, "application/zip", zipped)
}

// portableCopyPage serves the portable copy to the status page's cookie, with errors as
// pages.
func (s *Server) portableCopyPage(c echo.Context) error {
	if err := s.portableCopy(c); err != nil {
		return s.renderError(c, err)
	}
	return nil
}
