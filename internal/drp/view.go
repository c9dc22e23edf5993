package drp

import (
	"context"
	"errors"
	"net/http"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// StatusReader is what StatusOf reads; *requestdb.Repo is one.
type StatusReader interface {
	GetDRPRequest(ctx context.Context, requestID string) (*requestdb.DRPRequest, error)
	GetRequest(ctx context.Context, id string) (*requestdb.Request, error)
	AuditEvents(ctx context.Context, requestID string) ([]requestdb.AuditEvent, error)
}

// StatusOf is the Exercise Status (section 3.03) of a request an agent opened, read from the
// database: what the status endpoint answers and every status callback carries.
func StatusOf(ctx context.Context, db StatusReader, l links.Builder, requestID string) (ExerciseStatus, error) {
	link, err := db.GetDRPRequest(ctx, requestID)
	if errors.Is(err, requestdb.ErrNotFound) {
		return ExerciseStatus{}, &Error{Status: http.StatusNotFound, Message: "no such data rights request"}
	}
	if err != nil {
		return ExerciseStatus{}, unavailable(err)
	}
	row, err := db.GetRequest(ctx, requestID)
	if err != nil {
		return ExerciseStatus{}, unavailable(err)
	}
	facts := Facts{
		Status: row.Status, Revoked: link.RevokedAt != nil, Joined: row.JoinedTo != "",
		StatusReason: row.StatusReason, ExtensionReason: row.ExtensionReason,
	}
	if row.Status == domain.StatusDenied {
		events, err := db.AuditEvents(ctx, requestID)
		if err != nil {
			return ExerciseStatus{}, unavailable(err)
		}
		facts.EndedBySystem = endedBySystem(events, row.Status)
	}
	state, reason, details := MapStatus(facts)
	out := ExerciseStatus{
		RequestID: requestID, ReceivedAt: timestamp(link.ReceivedAt), AgentRequestID: link.AgentRequestID,
		Status: state, Reason: reason, ProcessingDetails: details,
	}
	if state == StateOpen || state == StateInProgress {
		out.ExpectedBy = timestamp(row.DueAt)
	}
	if reason == ReasonNeedUserVerification {
		// dsr's own pages (3.02.1); each carries the request's link key, so it opens in the
		// person's browser wherever the agent shows it.
		out.UserVerificationURL = l.VerifyPage(requestID)
		if row.Status == domain.StatusAwaitingIdentityVerification {
			out.UserVerificationURL = l.StatusPage(requestID)
		}
	}
	return out, nil
}

// endedBySystem reports whether dsr itself took the step that brought the request to status.
func endedBySystem(events []requestdb.AuditEvent, status domain.Status) bool {
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.ToStatus == string(status) && e.FromStatus != e.ToStatus {
			return e.Role == string(domain.RoleSystem)
		}
	}
	return false
}
