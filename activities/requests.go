package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/tlog"
)

// RecordStepInput is one audit step and the change it makes to the request row.
type RecordStepInput struct {
	RequestID string
	Seq       int64
	At        time.Time
	Action    string
	Actor     string
	Role      domain.Role
	From, To  domain.Status
	Details   []string
	// Patch keeps its name from when it was a requestdb.Patch, so older inputs decode.
	Patch StepChange
}

// RecordStep appends the audit event and patches the request row in one transaction; the
// sequence number makes a repeat a no-op. A step it stores is told to Steps.
func (a *Activities) RecordStep(ctx context.Context, in RecordStepInput) error {
	details, err := json.Marshal(in.Details)
	if err != nil {
		return err
	}
	applied, err := a.Requests.ApplyStep(ctx, requestdb.Step{
		RequestID: in.RequestID, Seq: in.Seq, Patch: in.Patch.patch(),
		Event: requestdb.AuditEvent{
			At: in.At, Actor: in.Actor, Role: in.Role.String(), Action: in.Action,
			FromStatus: string(in.From), ToStatus: string(in.To), Details: string(details),
		},
	})
	if err != nil {
		return err
	}
	if applied.Stored && a.Steps != nil {
		a.Steps.StepStored(ctx, applied)
	}
	return nil
}

// RecordStepsInput is a batch of audit steps, in sequence.
type RecordStepsInput struct {
	Steps []RecordStepInput
}

// RecordSteps records a batch of steps in order, each as RecordStep does: a workflow writes
// the steps one workflow task took with one activity. A retry skips those already stored.
func (a *Activities) RecordSteps(ctx context.Context, in RecordStepsInput) error {
	for _, step := range in.Steps {
		if err := a.RecordStep(ctx, step); err != nil {
			return err
		}
	}
	return nil
}

// IssueCodeInput asks for the request's code number Number.
type IssueCodeInput struct {
	RequestID    string
	Number       int
	Digits       int
	ValidMinutes int
}

// IssueCodeResult is all the workflow keeps of a code: its salted hash.
type IssueCodeResult struct {
	Hash []byte
	Salt []byte
}

// IssueCode derives code Number from the server secret and mails it. A retry derives and
// mails the same code, so the person never holds a code the workflow does not expect.
func (a *Activities) IssueCode(ctx context.Context, in IssueCodeInput) (IssueCodeResult, error) {
	code := a.Secret.Code(in.RequestID, in.Number, in.Digits)
	salt := a.Secret.CodeSalt(in.RequestID, in.Number)
	err := a.SendNotice(ctx, SendNoticeInput{
		Key: fmt.Sprintf("%s:code:%d", in.RequestID, in.Number),
		Notice: mail.Notice{Kind: mail.KindVerificationCode, RequestID: in.RequestID,
			Data: mail.VerificationCode{Code: code, ValidMinutes: in.ValidMinutes}},
	})
	if err != nil {
		return IssueCodeResult{}, err
	}
	return IssueCodeResult{Hash: domain.HashCode(salt, code), Salt: salt}, nil
}

// SendNoticeInput is one notice to the requester; Key identifies it for idempotency.
type SendNoticeInput struct {
	Key    string
	Notice mail.Notice
}

// SendNotice mails a notice to the request's address unless the key was sent before. The
// address is read from the database here so it never passes through the engine. The
// completion or denial of a request an agent made by form is also told to the agent, in a
// notice of its own key: how it ended, nothing of the person's data. An AgentOutcome
// notice, sent for the other endings, goes to the agent alone.
func (a *Activities) SendNotice(ctx context.Context, in SendNoticeInput) error {
	req, err := a.Requests.GetRequest(ctx, in.Notice.RequestID)
	if err != nil {
		return err
	}
	if err := a.sendOnce(ctx, in.Key, req, in.Notice); err != nil {
		return err
	}
	if req.AgentKind != requestdb.AgentByForm || req.AgentContact == "" {
		return nil
	}
	outcome := map[mail.Kind]domain.Status{mail.KindCompletion: domain.StatusCompleted, mail.KindDenial: domain.StatusDenied}[in.Notice.Kind]
	if outcome == "" {
		return nil
	}
	return a.sendOnce(ctx, in.Key+":agent", req, mail.Notice{Kind: mail.KindAgentOutcome, RequestID: req.ID, Data: mail.AgentOutcome{Outcome: string(outcome)}})
}

// sendOnce renders and mails one notice about req unless its key was sent before.
func (a *Activities) sendOnce(ctx context.Context, key string, req *requestdb.Request, n mail.Notice) error {
	sent, err := a.Requests.MailSent(ctx, key)
	if err != nil || sent {
		return err
	}
	// Mail goes to the address as typed; stores match on the normalised req.Email.
	// The language chosen at intake is the row's, so mail speaks it however long ago the
	// workflow started.
	n.To, n.Organization, n.Language = req.MailTo(), a.Organization, req.Language
	if n.Kind == mail.KindAgentOutcome {
		n.To = req.AgentContact
	}
	n.Data = a.withLinks(n.RequestID, n.Data)
	n.Data = a.withAppealOffer(req, n.Data)
	n.Data = withAgent(req, n.Data)
	n.Data = withWording(req, n.Data)
	n.ReceiptURL = a.receiptLink(n)
	n.Data = a.withOutcomeLabels(n.Language, n.Data)
	if n.Data, err = a.withRecipientAnswers(ctx, n.RequestID, n.Language, n.Data); err != nil {
		return err
	}
	msg, err := a.render(n)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("render notice", "RenderFailed", err)
	}
	if err := a.Mail.Send(ctx, msg); err != nil {
		if mail.IsPermanent(err) {
			return temporal.NewNonRetryableApplicationError(err.Error(), "MailRejected", nil)
		}
		return err
	}
	return a.recordSent(ctx, requestdb.MailRecord{Key: key, RequestID: n.RequestID, Kind: string(n.Kind), SentAt: time.Now().UTC()})
}

// recordSent logs a message the mail server has accepted. Failing the activity here would
// mail the person again on its retry, which finds no record; so while the database is away
// (restarting, say) the record is retried in place, for as long as the activity may run.
func (a *Activities) recordSent(ctx context.Context, rec requestdb.MailRecord) error {
	wait := 100 * time.Millisecond
	for {
		err := a.Requests.RecordMail(ctx, rec)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// withAgent names the agent in the mail that asks the person to confirm a request an
// agent made, so that entering the code is the person's confirmation of the agent.
func withAgent(req *requestdb.Request, data any) any {
	if !req.ByAgent() {
		return data
	}
	switch d := data.(type) {
	case mail.VerificationCode:
		d.AgentName = req.AgentName
		return d
	case mail.Reminder:
		d.AgentName = req.AgentName
		return d
	}
	return data
}

// withWording names in the acknowledgement and the completion what the request asks as its
// details say, so that a lift reads as allowing a use again, not as stopping it. Details
// that do not decode leave the type's words.
func withWording(req *requestdb.Request, data any) any {
	var d domain.Details
	if req.Details == "" || json.Unmarshal([]byte(req.Details), &d) != nil {
		return data
	}
	wording := d.Wording(req.Type)
	if wording == string(req.Type) {
		return data
	}
	switch n := data.(type) {
	case mail.Acknowledgement:
		n.Wording = wording
		return n
	case mail.Completion:
		n.Wording = wording
		return n
	}
	return data
}

// withLinks adds the links a notice carries; they depend on where dsr is served, which the
// workflow does not know. A review's completion links to the report itself, by a link
// that expires.
func (a *Activities) withLinks(requestID string, data any) any {
	status := a.Links.StatusPage(requestID)
	switch d := data.(type) {
	case mail.Acknowledgement:
		d.StatusURL = status
		return d
	case mail.VerificationCode:
		d.VerifyURL = a.Links.VerifyPage(requestID)
		return d
	case mail.Reminder:
		d.VerifyURL = a.Links.VerifyPage(requestID)
		return d
	case mail.Completion:
		d.ReportURL = status
		if d.RequestType == string(domain.TypeReview) {
			d.ReportURL = a.Links.Report(requestID, time.Now())
		}
		return d
	}
	return data
}

// noticeMilestones are the milestones whose mail carries the milestone's receipt. Each
// mail but the first code's is sent once the workflow has written the step it reports, and
// with it the log's entry. A batched request writes "received" just after its first code
// mail, in the same workflow task, so that link answers 404 only for the moment before.
var noticeMilestones = map[mail.Kind]tlog.Milestone{
	mail.KindVerificationCode: tlog.Received,
	mail.KindAcknowledgement:  tlog.EmailVerified,
	mail.KindExtension:        tlog.Extended,
	mail.KindCompletion:       tlog.Completed,
	mail.KindDenial:           tlog.Denied,
}

// receiptLink is the signed link to the receipt of the milestone the notice reports, or
// empty when it reports none or no log is kept. The link is built here, in the mail's own
// activity, so that receipts cost the engine nothing.
func (a *Activities) receiptLink(n mail.Notice) string {
	m, ok := noticeMilestones[n.Kind]
	if !ok || !a.Requests.LogsMilestones() {
		return ""
	}
	return a.Links.Receipt(n.RequestID, string(m))
}

// withOutcomeLabels names what a completion found and changed as the requester's report
// does, in the request's language. The workflow passes the stores' own names, which only
// this side can put into words.
func (a *Activities) withOutcomeLabels(lang string, data any) any {
	d, ok := data.(mail.Completion)
	if !ok || a.OutcomeLabels == nil {
		return data
	}
	d.Found, d.Changed = a.OutcomeLabels(lang, d.Found, d.Changed)
	return d
}

// withRecipientAnswers adds to the name of each recipient a completion lists whether the
// notice went out, in the request's language; what the recipient answered is staff's.
func (a *Activities) withRecipientAnswers(ctx context.Context, requestID, lang string, data any) (any, error) {
	d, ok := data.(mail.Completion)
	if !ok || len(d.RecipientsTold) == 0 {
		return data, nil
	}
	recs, err := a.Requests.RecipientNotices(ctx, requestID)
	if err != nil {
		return nil, err
	}
	loc := i18n.Default().ForCode(lang)
	told := make([]string, len(d.RecipientsTold))
	for i, name := range d.RecipientsTold {
		told[i] = name
		for _, rec := range recs {
			if rec.Recipient == name {
				told[i] = name + " (" + loc.T("report_recipient_"+rec.Told()) + ")"
			}
		}
	}
	d.RecipientsTold = told
	return d, nil
}

// AlertTeamInput names a request that has used 75% of its time.
type AlertTeamInput struct {
	RequestID string
	DueAt     time.Time
}

// AlertTeam tells the privacy team that a request's deadline is near, once per due date.
func (a *Activities) AlertTeam(ctx context.Context, in AlertTeamInput) error {
	activity.GetLogger(ctx).Warn("privacy request deadline near", "request_id", in.RequestID, "due_at", in.DueAt)
	if a.TeamEmail == "" {
		return nil
	}
	key := fmt.Sprintf("%s:alert:%s", in.RequestID, in.DueAt.UTC().Format(time.RFC3339))
	sent, err := a.Requests.MailSent(ctx, key)
	if err != nil || sent {
		return err
	}
	link := a.Links.StaffPage(in.RequestID)
	err = a.Mail.Send(ctx, mail.Message{
		To:      a.TeamEmail,
		Subject: "Privacy request " + in.RequestID + " is due " + in.DueAt.UTC().Format("2 Jan 2006"),
		Text:    fmt.Sprintf("Three quarters of the time to answer request %s is gone. It is due %s.\n\n%s\n", in.RequestID, in.DueAt.UTC().Format(time.RFC1123), link),
	})
	if err != nil {
		return err
	}
	return a.recordSent(ctx, requestdb.MailRecord{Key: key, RequestID: in.RequestID, Kind: "deadline_alert", SentAt: time.Now().UTC()})
}

// CheckIdentityInput carries the data points a requester gave.
type CheckIdentityInput struct {
	RequestID string
	Answers   map[string]string
}

// CheckIdentityResult counts the data points that matched records held on the requester.
type CheckIdentityResult struct{ Matched int }

// CheckIdentity counts the data points that match what the company holds for the address.
// With no store able to check, none can match.
func (a *Activities) CheckIdentity(ctx context.Context, in CheckIdentityInput) (CheckIdentityResult, error) {
	checkers := connector.IdentityCheckersOf(a.Stores)
	if len(checkers) == 0 {
		return CheckIdentityResult{}, nil
	}
	req, err := a.Requests.GetRequest(ctx, in.RequestID)
	if err != nil {
		return CheckIdentityResult{}, err
	}
	n, err := checkers.MatchDataPoints(ctx, req.Email, in.Answers)
	if err != nil {
		return CheckIdentityResult{}, fmt.Errorf("check data points: %w", err)
	}
	return CheckIdentityResult{Matched: n}, nil
}

// ClaimInput names a request.
type ClaimInput struct{ RequestID string }

// ClaimResult names the open request of the same type and address that holds the claim.
type ClaimResult struct{ Holder string }

// ClaimRequest makes the request the one open request of its type for its address, or
// returns the request that already is. A restriction that lifts its limits claims apart
// (as restrict_lift): joined to an open restriction, it would be dropped, and the person
// left restricted.
func (a *Activities) ClaimRequest(ctx context.Context, in ClaimInput) (ClaimResult, error) {
	req, err := a.Requests.GetRequest(ctx, in.RequestID)
	if err != nil {
		return ClaimResult{}, err
	}
	var d domain.Details
	if req.Details != "" {
		if err := json.Unmarshal([]byte(req.Details), &d); err != nil {
			return ClaimResult{}, temporal.NewNonRetryableApplicationError("request details are not valid JSON", "BadDetails", nil)
		}
	}
	holder, err := a.Requests.Claim(ctx, req.EmailHash, domain.RequestType(d.Wording(req.Type)), req.ID)
	return ClaimResult{Holder: holder}, err
}

// ReleaseClaim lets a later request of the same type from the same address run.
func (a *Activities) ReleaseClaim(ctx context.Context, in ClaimInput) error {
	return a.Requests.ReleaseClaim(ctx, in.RequestID)
}

// ListStoresInput names the request about to fan out.
type ListStoresInput struct{ RequestID string }

// ListStores names the systems a request fans out to and records each as running, so the
// status views can count them. Workflows that started before it took an input pass none.
func (a *Activities) ListStores(ctx context.Context, in ListStoresInput) ([]string, error) {
	names := make([]string, len(a.Stores))
	for i, s := range a.Stores {
		names[i] = s.Name()
	}
	if in.RequestID == "" {
		return names, nil
	}
	return names, a.Requests.StartStores(ctx, in.RequestID, names)
}

// RunStoreInput names one system to run a request in.
type RunStoreInput struct {
	RequestID string
	Store     string
}

// RunStoreResult is the system's result without the exported data, which stays in the
// application database. Pending means the system answers later, by callback or by a
// person completing a task; the result then arrives through the workflow's store-result
// update.
type RunStoreResult struct {
	Result  connector.Result
	Pending bool
}

// RunStore runs the request in one system and keeps the full result for the report.
// Requests started before fan-outs ran as one activity (RunStores) still call it.
func (a *Activities) RunStore(ctx context.Context, in RunStoreInput) (RunStoreResult, error) {
	req, details, err := a.requestToRun(ctx, in.RequestID)
	if err != nil {
		return RunStoreResult{}, err
	}
	activity.RecordHeartbeat(ctx, "started")
	// The same run as a fan-out's, its outcome told the way an activity per store tells it:
	// by an error that the engine retries, or not.
	run := a.runOneStore(ctx, req, details, in.Store)
	switch {
	case run.Pending:
		return RunStoreResult{Pending: true}, nil
	case run.Error == "":
		return RunStoreResult{Result: run.Result}, nil
	case run.Retryable:
		return RunStoreResult{}, errors.New(run.Error)
	}
	return RunStoreResult{}, temporal.NewNonRetryableApplicationError(run.Error, "StoreRefused", nil)
}

// keepStoreResult saves a system's full result for the report and returns it without the
// exported data and a correction's old values, which must never enter workflow history.
func (a *Activities) keepStoreResult(ctx context.Context, requestID, store string, res connector.Result) (RunStoreResult, error) {
	res.Store = store
	if err := a.Requests.SaveStoreResult(ctx, requestID, store, res); err != nil {
		return RunStoreResult{}, err
	}
	res.Export, res.Before = nil, nil
	return RunStoreResult{Result: res}, nil
}

// RecordStoreResultInput is a result that arrived later: a signed callback or a completed
// manual task.
type RecordStoreResultInput struct {
	RequestID string
	Store     string
	Result    connector.Result
}

// RecordStoreResult keeps a late result like RunStore keeps an immediate one.
func (a *Activities) RecordStoreResult(ctx context.Context, in RecordStoreResultInput) (RunStoreResult, error) {
	return a.keepStoreResult(ctx, in.RequestID, in.Store, in.Result)
}
