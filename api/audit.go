package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// historyTimeout bounds reading a workflow's whole history, page by page.
const historyTimeout = 30 * time.Second

// workflowHistory answers with the request workflow's event history as the engine keeps it,
// in protojson, the form `temporal workflow show -o json` writes and replay tests read. Its
// payloads stay as the data converter stored them, encrypted by the codec; some hold what
// the requester gave (identity answers, correction values), which the codec endpoint
// decodes for the roles it allows. The evidence bundle is the redacted form.
func (s *Server) workflowHistory(c echo.Context) error {
	ctx := c.Request().Context()
	row, err := s.findRequest(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	history, err := s.readHistory(ctx, row.ID)
	if err != nil {
		return err
	}
	raw, err := protojson.Marshal(history)
	if err != nil {
		return internalError(fmt.Errorf("encode history of request %s: %w", row.ID, err))
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSONBlob(http.StatusOK, raw)
}

// readHistory reads the whole history of a request's workflow, for the history route and
// the auditor's page.
func (s *Server) readHistory(ctx context.Context, requestID string) (*historypb.History, error) {
	ctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	iter := s.opts.Temporal.GetWorkflowHistory(ctx, workflows.RequestID(requestID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	history := &historypb.History{}
	for iter.HasNext() {
		event, err := iter.Next()
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			return nil, fail(http.StatusNotFound, "the workflow engine no longer holds this request's history")
		case err != nil:
			return nil, unavailable(fmt.Errorf("history of request %s: %w", requestID, err))
		}
		history.Events = append(history.Events, event)
	}
	return history, nil
}

// evidence answers with the request's signed evidence bundle (see package audit): a zip of
// the request, its workflow history, audit events with their hash-chain links, store
// results, retention and notices, with a signed manifest. It holds no personal data beyond
// what the audit trail records: the address appears only as its keyed hash, and history
// payloads that may hold personal data are withheld. Only `dsr audit export --include-pii`
// makes a bundle with personal data; nothing over HTTP does.
func (s *Server) evidence(c echo.Context) error {
	ctx := c.Request().Context()
	row, err := s.findRequest(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if s.signer == nil {
		return internalError(fmt.Errorf("evidence of request %s: %w", row.ID, s.signerErr))
	}
	ctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	bundle, err := audit.Export(ctx, audit.ExportDeps{
		Requests: s.opts.Requests,
		History:  audit.TemporalHistory(s.opts.Temporal, s.opts.PayloadCodec),
		Signer:   s.signer,
		// The log's entries are public, so the bundle holds them whatever its PII setting.
		TransparencyLog: s.opts.TransparencyLog,
	}, row.ID, audit.ExportOptions{})
	switch {
	case errors.Is(err, requestdb.ErrNotFound):
		return fail(http.StatusNotFound, "no such request")
	case err != nil:
		return unavailable(err)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="dsr-evidence-%s.zip"`, row.ID))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/zip", bundle)
}

// publicKey answers with the public half of the key that signs evidence bundles, for
// auditors to pin and check bundles against.
func (s *Server) publicKey(c echo.Context) error {
	if s.signer == nil {
		return internalError(fmt.Errorf("evidence public key: %w", s.signerErr))
	}
	return c.JSON(http.StatusOK, audit.PublicKey(s.signer))
}

// AuditLog is one page of the audit log, oldest first. NextCursor, given back as ?cursor=,
// fetches the page after this one; it is absent on the last page.
type AuditLog struct {
	Events     []AuditLogEntry `json:"events"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// AuditLogEntry is one recorded step of one request, with its link in the audit hash chain
// (absent for events stored before the chain existed).
type AuditLogEntry struct {
	RequestID string `json:"request_id"`
	AuditEntry
	ChainSeq int64  `json:"chain_seq,omitempty"`
	PrevHash string `json:"prev_hash,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

const auditCursor = "audit"

// auditEvents lists audit events at or after from and before to, of one request or all,
// by one actor or of one action when asked, as the audit page searches them.
func (s *Server) auditEvents(c echo.Context) error {
	fields := map[string]string{}
	var f requestdb.AuditFilter
	limit := defaultPageSize
	for name, values := range c.QueryParams() {
		v := values[0]
		switch name {
		case "from", "to":
			t, err := parseInstant(v)
			if err != nil {
				fields[name] = "must be a date (2006-01-02) or an RFC 3339 time"
			}
			if name == "from" {
				f.From = t
			} else {
				f.To = t
			}
		case "request":
			if _, err := uuid.Parse(v); err != nil {
				fields[name] = "must be a request ID"
			}
			f.RequestID = v
		case "actor":
			f.Actor = strings.TrimSpace(v)
		case "action":
			f.Action = strings.TrimSpace(v)
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxPageSize {
				fields[name] = fmt.Sprintf("must be a number from 1 to %d", maxPageSize)
			}
			limit = n
		case "cursor":
		default:
			return errUnknownParameter
		}
	}
	if len(fields) == 0 && !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		fields["from"] = "must be before to"
	}
	if len(fields) > 0 {
		return invalidFields(fields)
	}
	var after *requestdb.Cursor
	if v := c.QueryParam("cursor"); v != "" {
		cur, err := decodeCursor(auditCursor, v)
		if err != nil {
			return badInput("cursor", "is not a cursor of this list")
		}
		after = &cur
	}
	events, next, err := s.opts.Requests.ListAuditEvents(c.Request().Context(), f, after, limit)
	if err != nil {
		return unavailable(err)
	}
	out := AuditLog{Events: make([]AuditLogEntry, len(events))}
	for i, e := range events {
		out.Events[i] = AuditLogEntry{
			RequestID: e.RequestID, AuditEntry: auditEntry(e),
			ChainSeq: e.ChainSeq, PrevHash: e.PrevHash, Hash: e.Hash,
		}
	}
	if next != nil {
		out.NextCursor = encodeCursor(auditCursor, *next)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}
