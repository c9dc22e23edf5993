package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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
		return d
	}
	return data
}
