package api

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/discover"
)

// dataMapPageData is the admins' page of personal data the data map leaves out.
type dataMapPageData struct {
	webPage
	// CanScan says a sql store is configured; Scanned that this page shows a scan.
	CanScan, Scanned bool
	SampleRows       int
	Maps             []scannedMap
	Nothing          bool
}

// scannedMap is one data map's findings and the YAML to paste into it; Snippet is empty
// when the map covers everything.
type scannedMap struct {
	discover.MapReport
	Snippet string
}

// dataMapPage explains the scan and offers to run it. Scanning reads every store, so it
// waits for the admin's POST rather than running on each visit.
func (s *Server) dataMapPage(c echo.Context) error {
	if err := requireAdmin(c); err != nil {
		return s.renderError(c, err)
	}
	return s.render(c, http.StatusOK, "datamap.html", s.dataMapPageData(c))
}

// dataMapScanForm scans the stores and shows what it found. Sampled values stay in the
// scan: the page shows each column's verdict and the snippet, never a value.
func (s *Server) dataMapScanForm(c echo.Context) error {
	if err := requireAdmin(c); err != nil {
		return s.renderError(c, err)
	}
	p := s.dataMapPageData(c)
	if !p.CanScan {
		return s.render(c, http.StatusConflict, "datamap.html", p)
	}
	reports, err := s.opts.DataMapScanner.Scan(c.Request().Context())
	if err != nil {
		// The error names the map's file and store, never a value read.
		s.log.Warn("data map scan failed", slog.String("error", err.Error()))
		return s.renderError(c, fail(http.StatusBadGateway, "a store could not be scanned: "+err.Error()))
	}
	for _, r := range reports {
		m := scannedMap{MapReport: r}
		if !discover.Empty([]discover.MapReport{r}) {
			y, err := r.YAML()
			if err != nil {
				return s.renderError(c, internalError(err))
			}
			m.Snippet = string(y)
		}
		p.Maps = append(p.Maps, m)
	}
	p.Scanned, p.Nothing = true, discover.Empty(reports)
	s.log.Info("data map scanned", slog.String("by_token", currentToken(c).ID))
	return s.render(c, http.StatusOK, "datamap.html", p)
}

func (s *Server) dataMapPageData(c echo.Context) dataMapPageData {
	return dataMapPageData{
		webPage: s.staffPage(c, "Data map coverage"), CanScan: s.opts.DataMapScanner != nil,
		SampleRows: discover.DefaultSampleRows,
	}
}

// requireAdmin refuses analysts: the scan reads every store's catalog and a sample of
// its rows, which is the data map's owner's business.
func requireAdmin(c echo.Context) error {
	if currentToken(c).Role != auth.RoleAdmin {
		return fail(http.StatusForbidden, "only an admin may scan the stores for personal data")
	}
	return nil
}
