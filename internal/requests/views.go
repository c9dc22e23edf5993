package requests

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// StatusView is what a requester sees of their request: progress and outcome, never staff
// names, notes or other people's data. It is read from the database, so it answers while
// the workflow engine is down.
type StatusView struct {
	ID                   string             `json:"id"`
	Type                 domain.RequestType `json:"type"`
	Status               domain.Status      `json:"status"`
	StatusReason         string             `json:"status_reason,omitempty"`
	ReceivedAt           time.Time          `json:"received_at"`
	DueDate              time.Time          `json:"due_date"`
	Extended             bool               `json:"extended"`
	ExtensionReason      string             `json:"extension_reason,omitempty"`
	EmailVerified        bool               `json:"email_verified"`
	CodeAttemptsLeft     int                `json:"code_attempts_left"`
	IdentityRequirement  string             `json:"identity_requirement"`
	IdentityVerified     bool               `json:"identity_verified"`
	IdentityAttemptsLeft int                `json:"identity_attempts_left"`
	Steps                []StatusStep       `json:"steps"`
	Stores               StoreCounts        `json:"stores"`
	Outcome              OutcomeSummary     `json:"outcome"`
	JoinedTo             string             `json:"joined_to,omitempty"`
	// InWords is the outcome as the requester's page shows it: labels, each once.
	InWords OutcomeInWords `json:"-"`
	// Recipients are the organisations the change was passed on to, and with what result.
	Recipients []RecipientSummary `json:"recipients"`
}

// StatusStep is one step of the timeline, without who took it.
type StatusStep struct {
	Action string        `json:"action"`
	At     time.Time     `json:"at"`
	Status domain.Status `json:"status"`
}

// StoreCounts says how far the request has got through the company's systems.
type StoreCounts struct {
	Total  int `json:"total"`
	Done   int `json:"done"`
	Failed int `json:"failed"`
}

// OutcomeSummary is what the systems found, changed and had to keep.
type OutcomeSummary struct {
	Found    []string          `json:"found"`
	Changed  []string          `json:"changed"`
	Retained []RetainedSummary `json:"retained"`
}

// RetainedSummary is data kept despite the request, with its legal ground and end date.
// A legal hold has no end date: until is then left out, and the record is kept until the
// hold is lifted.
type RetainedSummary struct {
	What   string    `json:"what"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until,omitzero"`
	// UntilText is Until in the reader's words, or that it is kept until the hold is lifted.
	UntilText string `json:"-"`
}

// RecipientSummary is one organisation that had received the person's data and was told.
// Its status is "sent" or "not_sent"; how the notice went and what the recipient answered
// are for staff. Since is when it began receiving the data, zero when no store says.
type RecipientSummary struct {
	Name   string    `json:"name"`
	Status string    `json:"status"`
	Since  time.Time `json:"since,omitzero"`
	// SinceText is Since in the reader's words, "" when no store says.
	SinceText string `json:"-"`
}

// recipientsTold lists the recipients told of a request, each with the earliest date a
// store's result gives for when its data went to them.
func recipientsTold(notices []requestdb.RecipientNoticeRecord, results []connector.Result) []RecipientSummary {
	out := []RecipientSummary{}
	for _, n := range notices {
		r := RecipientSummary{Name: n.Recipient, Status: n.Told()}
		for _, res := range results {
			for _, d := range res.DisclosedTo {
				if d.Recipient == n.Recipient && !d.Since.IsZero() && (r.Since.IsZero() || d.Since.Before(r.Since)) {
					r.Since = d.Since
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// internalSteps are staff housekeeping that the requester's timeline leaves out.
var internalSteps = []string{"note_added", "assigned", "deadline_alert", "store_retry_requested", "store_planned", requestdb.ActionAccessed}

// Find returns a request's row; an unknown or malformed ID is not found.
func (s *Service) Find(ctx context.Context, id string) (*requestdb.Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errNoRequest
	}
	row, err := s.opts.Store.GetRequest(ctx, id)
	switch {
	case errors.Is(err, requestdb.ErrNotFound):
		return nil, errNoRequest
	case err != nil:
		return nil, domain.Unavailable(err)
	}
	return row, nil
}

// Status returns the requester's view of a request the caller has already found, its
// outcome in words in lang as Report's is.
func (s *Service) Status(ctx context.Context, row *requestdb.Request, lang string) (StatusView, error) {
	v := StatusView{
		ID: row.ID, Type: row.Type, Status: row.Status, StatusReason: row.StatusReason,
		ReceivedAt: row.ReceivedAt, DueDate: row.DueAt, Extended: row.ExtendedAt != nil, ExtensionReason: row.ExtensionReason,
		EmailVerified: row.EmailVerified, CodeAttemptsLeft: row.CodeAttemptsLeft,
		IdentityRequirement: row.IdentityRequirement, IdentityVerified: row.IdentityVerified,
		IdentityAttemptsLeft: row.IdentityAttemptsLeft, JoinedTo: row.JoinedTo,
		Steps:      []StatusStep{},
		Outcome:    OutcomeSummary{Found: []string{}, Changed: []string{}, Retained: []RetainedSummary{}},
		Recipients: []RecipientSummary{},
	}
	events, err := s.opts.Store.AuditEvents(ctx, row.ID)
	if err != nil {
		return StatusView{}, domain.Unavailable(err)
	}
	for _, e := range events {
		if !slices.Contains(internalSteps, e.Action) {
			v.Steps = append(v.Steps, StatusStep{Action: e.Action, At: e.At, Status: domain.Status(e.ToStatus)})
		}
	}
	stores, err := s.opts.Store.StoreProgressOf(ctx, row.ID)
	if err != nil {
		return StatusView{}, domain.Unavailable(err)
	}
	v.Stores.Total = len(stores)
	for _, p := range stores {
		switch p.State {
		case requestdb.StoreDone:
			v.Stores.Done++
		case requestdb.StoreFailed:
			v.Stores.Failed++
		}
	}
	results, err := s.opts.Store.StoreResults(ctx, row.ID)
	if err != nil {
		return StatusView{}, domain.Unavailable(err)
	}
	for _, r := range results {
		for _, f := range r.Found {
			v.Outcome.Found = appendOnce(v.Outcome.Found, f)
		}
		for _, c := range r.Changed {
			v.Outcome.Changed = appendOnce(v.Outcome.Changed, c)
		}
	}
	v.InWords = s.writer(lang, false).outcome(results)
	if v.InWords.Retained != nil {
		v.Outcome.Retained = v.InWords.Retained
	}
	notices, err := s.opts.Store.RecipientNotices(ctx, row.ID)
	if err != nil {
		return StatusView{}, domain.Unavailable(err)
	}
	v.Recipients = recipientsTold(notices, results)
	return v, nil
}

// StaffView is everything about one request: its row, each system's progress, the tasks,
// and the audit trail, all from the database. State is the workflow's own account, for
// debugging; it is missing, with StateError saying why, when the engine cannot answer.
type StaffView struct {
	Request    requestdb.Record                  `json:"request"`
	Row        *requestdb.Request                `json:"-"`
	Stores     []StoreView                       `json:"stores"`
	Tasks      []requestdb.Task                  `json:"-"`
	Recipients []requestdb.RecipientNoticeRecord `json:"-"`
	Audit      []requestdb.AuditEvent            `json:"-"`
	// Plans are what each store was planned to change, before it changed anything.
	Plans      []requestdb.SealedPlan  `json:"-"`
	State      *workflows.RequestState `json:"state,omitempty"`
	StateError string                  `json:"state_error,omitempty"`
}

// StoreView is one system's progress with a request, as staff see it, with what it found,
// changed and kept once done (never the exported data itself).
type StoreView struct {
	Store  string               `json:"store"`
	State  requestdb.StoreState `json:"state"`
	Error  string               `json:"error,omitempty"`
	Result *connector.Result    `json:"-"`
}

// FailedStores names the systems staff may retry.
func (v StaffView) FailedStores() []string {
	var out []string
	for _, st := range v.Stores {
		if st.State == requestdb.StoreFailed {
			out = append(out, st.Store)
		}
	}
	return out
}

// errStateUnavailable is what staff read when the engine does not answer.
const errStateUnavailable = "the workflow engine did not answer; its own account of the request is missing"

// Staff returns the staff view of a request. withState also asks the engine for its own
// account, which may be missing without failing the view.
func (s *Service) Staff(ctx context.Context, id string, withState bool) (StaffView, error) {
	row, err := s.Find(ctx, id)
	if err != nil {
		return StaffView{}, err
	}
	v := StaffView{Request: row.Record(), Row: row, Stores: []StoreView{}}
	if v.Audit, err = s.opts.Store.AuditEvents(ctx, row.ID); err != nil {
		return StaffView{}, domain.Unavailable(err)
	}
	if v.Tasks, err = s.opts.Store.TasksOf(ctx, row.ID); err != nil {
		return StaffView{}, domain.Unavailable(err)
	}
	progress, err := s.opts.Store.StoreProgressOf(ctx, row.ID)
	if err != nil {
		return StaffView{}, domain.Unavailable(err)
	}
	results, err := s.opts.Store.StoreResults(ctx, row.ID)
	if err != nil {
		return StaffView{}, domain.Unavailable(err)
	}
	for _, p := range progress {
		sv := StoreView{Store: p.Store, State: p.State, Error: p.Error}
		for i := range results {
			if results[i].Store == p.Store {
				res := results[i]
				res.Export, res.Before = nil, nil
				sv.Result = &res
			}
		}
		v.Stores = append(v.Stores, sv)
	}
	if v.Recipients, err = s.opts.Store.RecipientNotices(ctx, row.ID); err != nil {
		return StaffView{}, domain.Unavailable(err)
	}
	if v.Plans, err = s.opts.Store.StorePlans(ctx, row.ID); err != nil {
		return StaffView{}, domain.Unavailable(err)
	}
	if withState {
		st, err := s.opts.Engine.State(ctx, row.ID)
		if err != nil {
			s.log.Warn("request state unavailable", "request_id", row.ID, "error", err)
			v.StateError = errStateUnavailable
		} else {
			v.State = &st
		}
	}
	return v, nil
}

// Note is a staff member's note on a request, as the audit trail keeps it.
type Note struct {
	Author string
	Text   string
	At     time.Time
}

// Notes returns the staff notes in the order they were written.
func (v StaffView) Notes() []Note {
	var out []Note
	for _, e := range v.Audit {
		if e.Action != "note_added" {
			continue
		}
		var texts []string
		if err := json.Unmarshal([]byte(e.Details), &texts); err == nil && len(texts) > 0 {
			out = append(out, Note{Author: e.Actor, Text: texts[0], At: e.At})
		}
	}
	return out
}

// ApprovedBy names the staff member who approved the request, or "".
func (v StaffView) ApprovedBy() string {
	for _, e := range v.Audit {
		if e.Action == "approved" {
			return e.Actor
		}
	}
	return ""
}
