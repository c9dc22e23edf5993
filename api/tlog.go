package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/tlog"
)

// logRoutes serves the public transparency log: anyone may read its checkpoints, entries
// and proofs, and a requester their receipt, by status token or by the signed link a
// milestone's mail carries. Without a log (Options.TransparencyLog nil) the routes are left
// out.
func (s *Server) logRoutes(requests *echo.Group) {
	if s.opts.TransparencyLog == nil {
		return
	}
	g := s.echo.Group("/api/v1/log")
	g.GET("/checkpoint", s.logCheckpoint)
	g.GET("/public-key", s.logPublicKey)
	g.GET("/entries", s.logEntries)
	g.GET("/proof/inclusion", s.logInclusionProof)
	g.GET("/proof/consistency", s.logConsistencyProof)
	requests.GET("/:id/receipt", s.requestReceipt, s.limitVerifyByIP, s.requireReceiptAccess)
}

// receiptMilestoneParam names the milestone whose receipt is asked for; without it the
// receipt is of the latest. A mailed link signs it (links.Builder.Receipt).
const receiptMilestoneParam = "milestone"

const codeReceiptLinkInvalid = "receipt_link_invalid"

var errReceiptLinkInvalid = failCode(http.StatusUnauthorized, codeReceiptLinkInvalid,
	"this receipt link is not valid; use the link from your e-mail as it is, or open the status page")

// requireReceiptAccess admits the holder of a mailed receipt link, signed for the request
// and milestone it names, and otherwise whoever requireStatusToken admits.
func (s *Server) requireReceiptAccess(next echo.HandlerFunc) echo.HandlerFunc {
	withToken := s.requireStatusToken(next)
	return func(c echo.Context) error {
		q := c.Request().URL.Query()
		if !q.Has(links.SignatureParam) {
			return withToken(c)
		}
		if !s.opts.Secret.ValidReceiptLink(c.Param("id"), q.Get(receiptMilestoneParam), q.Get(links.SignatureParam)) {
			return errReceiptLinkInvalid
		}
		row, err := s.findRequest(c.Request().Context(), c.Param("id"))
		if err != nil {
			return err
		}
		c.Set(ctxRequest, row)
		return next(c)
	}
}

// LogEntries is a run of consecutive log entries.
type LogEntries struct {
	Entries []tlog.Entry `json:"entries"`
}

// LogProof is an inclusion or consistency proof: the hashes, in the order RFC 6962 gives.
type LogProof struct {
	Hashes [][]byte `json:"hashes"`
}

func (s *Server) logCheckpoint(c echo.Context) error {
	signed, err := s.opts.TransparencyLog.Checkpoint(c.Request().Context())
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", signed)
}

func (s *Server) logPublicKey(c echo.Context) error {
	return c.String(http.StatusOK, s.opts.TransparencyLog.VerifierKey()+"\n")
}

func (s *Server) logEntries(c echo.Context) error {
	start, end, err := uintParams(c, "start", "end")
	if err != nil {
		return err
	}
	entries, err := s.opts.TransparencyLog.Entries(c.Request().Context(), start, end)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, LogEntries{Entries: entries})
}

func (s *Server) logInclusionProof(c echo.Context) error {
	index, size, err := uintParams(c, "index", "tree_size")
	if err != nil {
		return err
	}
	hashes, err := s.opts.TransparencyLog.InclusionProof(c.Request().Context(), index, size)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, LogProof{Hashes: hashes})
}

func (s *Server) logConsistencyProof(c echo.Context) error {
	first, second, err := uintParams(c, "first", "second")
	if err != nil {
		return err
	}
	hashes, err := s.opts.TransparencyLog.ConsistencyProof(c.Request().Context(), first, second)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, LogProof{Hashes: hashes})
}

// requestReceipt gives the requester the receipt of their request's latest milestone, or of
// the one named, which `dsr receipt verify` checks offline. A mailed link opens it in a
// browser, which keeps it as a file.
func (s *Server) requestReceipt(c echo.Context) error {
	id, ctx := currentRequest(c).ID, c.Request().Context()
	var receipt tlog.Receipt
	var err error
	if m := c.QueryParam(receiptMilestoneParam); m != "" {
		receipt, err = s.opts.TransparencyLog.MilestoneReceipt(ctx, id, tlog.Milestone(m))
	} else {
		receipt, err = s.opts.TransparencyLog.Receipt(ctx, id)
	}
	if err != nil {
		return err
	}
	if c.QueryParams().Has(links.SignatureParam) {
		c.Response().Header().Set(echo.HeaderContentDisposition,
			`attachment; filename="dsr-receipt-`+id+`-`+string(receipt.Entry.Milestone)+`.json"`)
	}
	return c.JSON(http.StatusOK, receipt)
}

// receiptDownload serves the receipt to the status page's cookie as a file to keep, with
// errors as pages.
func (s *Server) receiptDownload(c echo.Context) error {
	id := currentRequest(c).ID
	receipt, err := s.opts.TransparencyLog.Receipt(c.Request().Context(), id)
	if err != nil {
		return s.renderError(c, err)
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="dsr-receipt-`+id+`.json"`)
	return c.JSONPretty(http.StatusOK, receipt, "  ")
}

// uintParams reads two required unsigned integer query parameters.
func uintParams(c echo.Context, a, b string) (uint64, uint64, error) {
	var out [2]uint64
	for i, name := range []string{a, b} {
		v, err := strconv.ParseUint(c.QueryParam(name), 10, 64)
		if err != nil {
			return 0, 0, badInput(name, "must be a whole number of at least 0")
		}
		out[i] = v
	}
	return out[0], out[1], nil
}
