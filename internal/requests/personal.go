package requests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// Personal is what staff see of the person behind a request: who sent it and the values
// each requested correction replaces. Reading it is recorded in the audit log.
type Personal struct {
	// Email is the address the request was sent from. A request holds no name: names live
	// in the stores, and only a review reads them.
	Email       string
	Corrections []Correction
}

// Correction is one change a request asks for, with the values the stores held before it
// once they have answered.
type Correction struct {
	Field string
	Value string
	// LookedUp is set once a store has answered; Was lists the values stores replaced.
	LookedUp bool
	Was      []HeldValue
}

// HeldValue is a value one store held for a field.
type HeldValue struct {
	Store string
	Value string
}

// Where staff read a requester's details, as the audit log names the place.
const (
	ReadOnRequestPage = "request page"
	ReadOnTaskPage    = "task page"
	ReadInStaffAPI    = "staff API"
	// ReadPermissionFile is the agent's signed permission, opened from the request page.
	ReadPermissionFile = "agent's permission file"
)

// RecordRead records in the audit log that actor reads the personal details of a request
// at where. It returns errNoRequest for an unknown request, and an unavailable error when
// the log cannot be written: a read that cannot be recorded must not happen.
func (s *Service) RecordRead(ctx context.Context, requestID string, actor workflows.Actor, where string) error {
	details, err := json.Marshal([]string{where})
	if err != nil {
		return err
	}
	err = s.opts.Store.RecordAccess(ctx, requestID, actor.Name, string(actor.Role), string(details))
	switch {
	case errors.Is(err, requestdb.ErrNotFound):
		return errNoRequest
	case err != nil:
		return domain.Unavailable(err)
	}
	return nil
}

// Personal records in the audit log that actor reads the personal details of the request
// row on the page where, and only then returns them: a read that cannot be recorded is
// refused as unavailable.
func (s *Service) Personal(ctx context.Context, row *requestdb.Request, actor workflows.Actor, where string) (Personal, error) {
	if err := s.RecordRead(ctx, row.ID, actor, where); err != nil {
		return Personal{}, err
	}
	p := Personal{Email: row.MailTo()}
	var d domain.Details
	if row.Details != "" {
		if err := json.Unmarshal([]byte(row.Details), &d); err != nil {
			s.log.Warn("request details unreadable", "request_id", row.ID, "error", err)
		}
	}
	if len(d.Changes) == 0 {
		return p, nil
	}
	results, err := s.opts.Store.StoreResults(ctx, row.ID)
	if err != nil {
		return Personal{}, domain.Unavailable(err)
	}
	for _, ch := range d.Changes {
		c := Correction{Field: ch.Field, Value: ch.Value, LookedUp: len(results) > 0}
		for _, r := range results {
			for _, b := range r.Before {
				if b.Field == ch.Field {
					c.Was = append(c.Was, HeldValue{Store: r.Store, Value: heldText(b.Value)})
				}
			}
		}
		p.Corrections = append(p.Corrections, c)
	}
	return p, nil
}

// heldText shows a stored value of any column type.
func heldText(v any) string {
	switch v := v.(type) {
	case nil:
		return "(empty)"
	case string:
		return v
	case time.Time:
		return v.UTC().Format(time.DateOnly)
	}
	return fmt.Sprint(v)
}

// StaffFacts is what decides which staff actions the request of v takes at now: its row
// and the systems that failed. The workflow's validators decide from the same facts.
func (v StaffView) StaffFacts(now time.Time) workflows.StaffFacts {
	row := v.Row
	return workflows.StaffFacts{
		Status: row.Status, Extended: row.ExtendedAt != nil, OriginalDueAt: row.OriginalDueAt, Now: now,
		FailedStores: v.FailedStores(), OpenedBy: row.OpenedBy,
		PermissionPending: row.AgentPermission == requestdb.PermissionPending && row.Status == domain.StatusPendingReview,
	}
}

// Offered lists the actions of StaffActions that actor may take on the request at now.
func (v StaffView) Offered(actor workflows.Actor, now time.Time) []string {
	var out []string
	for _, update := range v.StaffFacts(now).Offered(actor) {
		for name, u := range StaffActions {
			if u == update {
				out = append(out, name)
			}
		}
	}
	return out
}
