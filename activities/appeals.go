package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// RecordAppealStepInput is one step of an appeal: an event on the request's audit trail and
// the change it makes to the appeal row. The request's status stays as it is.
type RecordAppealStepInput struct {
	RequestID string
	Seq       int64
	At        time.Time
	Action    string
	Actor     string
	Role      domain.Role
	// Status is the request's (terminal) status, which the event records as unchanged.
	Status  domain.Status
	Details []string
	Patch   requestdb.AppealPatch
}

// RecordAppealStep appends the event and patches the appeal in one transaction; the
// sequence number makes a repeat a no-op.
func (a *Activities) RecordAppealStep(ctx context.Context, in RecordAppealStepInput) error {
	details, err := json.Marshal(in.Details)
	if err != nil {
		return err
	}
	_, err = a.Requests.ApplyAppealStep(ctx, requestdb.AppealStep{
		RequestID: in.RequestID, Seq: in.Seq, Patch: in.Patch,
		Event: requestdb.AuditEvent{
			At: in.At, Actor: in.Actor, Role: in.Role.String(), Action: in.Action,
			FromStatus: string(in.Status), ToStatus: string(in.Status), Details: string(details),
		},
	})
	return err
}

// AlertAppealInput names an appeal whose answer is near or past due.
type AlertAppealInput struct {
	RequestID string
	DueAt     time.Time
	Overdue   bool
}

// AlertAppeal tells the privacy team that an appeal's answer is near or past its due date,
// once per due date and kind.
func (a *Activities) AlertAppeal(ctx context.Context, in AlertAppealInput) error {
	kind, say := "appeal_alert", "Three quarters of the time to answer the appeal of request %s is gone. It is due %s.\n\n%s\n"
	if in.Overdue {
		kind, say = "appeal_overdue", "The answer to the appeal of request %s was due %s and has not been given.\n\n%s\n"
	}
	activity.GetLogger(ctx).Warn("appeal deadline", "request_id", in.RequestID, "due_at", in.DueAt, "overdue", in.Overdue)
	if a.TeamEmail == "" {
		return nil
	}
	key := fmt.Sprintf("%s:%s:%s", in.RequestID, kind, in.DueAt.UTC().Format(time.RFC3339))
	sent, err := a.Requests.MailSent(ctx, key)
	if err != nil || sent {
		return err
	}
	err = a.Mail.Send(ctx, mail.Message{
		To:      a.TeamEmail,
		Subject: "Appeal of privacy request " + in.RequestID + " is due " + in.DueAt.UTC().Format("2 Jan 2006"),
		Text:    fmt.Sprintf(say, in.RequestID, in.DueAt.UTC().Format(time.RFC1123), a.Links.StaffPage(in.RequestID)),
	})
	if err != nil {
		return err
	}
	return a.recordSent(ctx, requestdb.MailRecord{Key: key, RequestID: in.RequestID, Kind: kind, SentAt: time.Now().UTC()})
}

// withAppealOffer adds the appeal link to a closing notice that refuses all or part of a
// request, where the request's jurisdiction offers an appeal. The window opens now, when
// the notice tells the person of the decision.
func (a *Activities) withAppealOffer(req *requestdb.Request, data any) any {
	table := a.Jurisdictions
	if table == nil {
		table = domain.BuiltinJurisdictions()
	}
	until, ok := table.For(req.Jurisdiction, domain.DeadlinePolicy{}).AppealWindowEnds(time.Now())
	if !ok {
		return data
	}
	link := a.Links.StatusPage(req.ID) + "#appeal"
	switch d := data.(type) {
	case mail.Denial:
		d.AppealURL, d.AppealUntil = link, until
		return d
	case mail.Completion:
		if len(d.Retained) > 0 {
			d.AppealURL, d.AppealUntil = link, until
		}
		return d
	case mail.AppealDecision:
		d.StatusURL = a.Links.StatusPage(req.ID)
		if d.FollowUpRequestID != "" {
			d.FollowUpURL = a.Links.StatusPage(d.FollowUpRequestID)
		}
		return d
	}
	return data
}

// FollowUpID is the ID of the request a granted appeal of requestID opens: derived from
// the original, so that a retried opening finds the request it stored.
func FollowUpID(requestID string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("dsr:appeal-follow-up:"+requestID)).String()
}

// OpenFollowUpInput names a request whose appeal was granted, who granted it, and the
// deployment's deadline policy, which the new request's due date follows.
type OpenFollowUpInput struct {
	RequestID string
	GrantedBy string
	Deadline  domain.DeadlinePolicy
}

// OpenFollowUpResult is the request a granted appeal opened, with what its workflow needs.
// RequestID is empty when none was opened: the original's mailbox was never proven.
type OpenFollowUpResult struct {
	RequestID string
	// Type and Jurisdiction are left out when empty: their decoders refuse an empty name.
	Type         domain.RequestType  `json:",omitempty"`
	Jurisdiction domain.Jurisdiction `json:",omitempty"`
	ReceivedAt   time.Time
	DueAt        time.Time
	Deadline     domain.DeadlinePolicy
}

// OpenFollowUp stores the request that carries out a request whose appeal was granted: the
// same type, details, address and language, opened by the staff member who granted the
// appeal, and names it on the appeal. The mailbox is not proven again, since the original
// proved it; a request whose mailbox was never proven gets no follow-up, and staff act by
// hand. Who the person is, the workflow leaves to a second staff member's approval, as for
// every request staff open. A retry finds the request the first call stored.
func (a *Activities) OpenFollowUp(ctx context.Context, in OpenFollowUpInput) (OpenFollowUpResult, error) {
	orig, err := a.Requests.GetRequest(ctx, in.RequestID)
	if err != nil {
		return OpenFollowUpResult{}, err
	}
	if !orig.EmailVerified {
		return OpenFollowUpResult{}, nil
	}
	table := a.Jurisdictions
	if table == nil {
		table = domain.BuiltinJurisdictions()
	}
	id := FollowUpID(orig.ID)
	row, err := a.Requests.GetRequest(ctx, id)
	if errors.Is(err, requestdb.ErrNotFound) {
		now := time.Now().UTC().Truncate(time.Microsecond)
		rules := table.For(orig.Jurisdiction, in.Deadline)
		due := rules.DueDate(now)
		row = &requestdb.Request{
			ID: id, Type: orig.Type, Jurisdiction: orig.Jurisdiction, Status: domain.StatusReceived,
			Email: orig.Email, MailboxEmail: orig.MailboxEmail, EmailHash: orig.EmailHash, Details: orig.Details,
			Language: orig.Language, ReceivedAt: now, DueAt: due, OriginalDueAt: due, OpenedBy: in.GrantedBy, UpdatedAt: now,
			Progress: requestdb.Progress{IdentityRequirement: domain.IdentityRule{Requirement: domain.IdentityAnalyst}.String()},
		}
		if ack, ok := rules.AcknowledgeBy(now); ok {
			row.AcknowledgeBy = &ack
		}
		err = a.Requests.OpenFollowUp(ctx, orig.ID, row)
	}
	if err != nil {
		return OpenFollowUpResult{}, err
	}
	return OpenFollowUpResult{
		RequestID: row.ID, Type: row.Type, Jurisdiction: row.Jurisdiction, ReceivedAt: row.ReceivedAt, DueAt: row.DueAt,
		Deadline: table.Policy(row.Jurisdiction, row.ReceivedAt, in.Deadline),
	}, nil
}
