package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// An appeal of a refused request (VCDPA §59.1-577(C), CPA §6-1-1306(3), CTDPA
// §42-518(d)): its own workflow, started when the person appeals, which waits for a staff
// member other than the one who refused to decide it, with the jurisdiction's deadline,
// one extension where the law allows it, an alert at 75% of the time and another once it
// is overdue.

// Update names of an appeal, and its query.
const (
	UpdateDecideAppeal = "decide-appeal"
	UpdateExtendAppeal = "extend-appeal"
	QueryAppeal        = "appeal"
)

// RefusalSameStaff is the refusal of a decision by the staff member who refused the request.
const RefusalSameStaff = "same_staff"

// appealSeqBase numbers an appeal's audit events on its request's trail, after any step the
// request's workflow or its purges can take.
const appealSeqBase = 1 << 41

// AppealWorkflowID is the workflow ID of a request's appeal: one per request, never PII.
func AppealWorkflowID(requestID string) string { return "appeal-" + requestID }

// AppealInput is what an appeal workflow needs, fixed when the person appeals.
type AppealInput struct {
	RequestID string
	// RequestStatus is the refused request's terminal status, which the appeal's audit
	// events carry unchanged.
	RequestStatus domain.Status
	ReceivedAt    time.Time
	DueAt         time.Time
	// Extension is the one extension the jurisdiction allows; zero allows none.
	Extension domain.ExtensionRule
	// RefusedByID is the token ID of the staff member who refused the request, who may not
	// decide the appeal; empty when the system refused it.
	RefusedByID string
	// Regulator is whom a denied appeal's notice tells the person to contact.
	Regulator domain.Regulator
}

// AppealResult is how the appeal ended; its query returns it while it runs.
type AppealResult struct {
	Status    domain.AppealStatus `json:"status"`
	DueAt     time.Time           `json:"due_at"`
	Extended  bool                `json:"extended"`
	Overdue   bool                `json:"overdue"`
	DecidedAt time.Time           `json:"decided_at,omitzero"`
}

// DecideAppealInput grants or denies an appeal, with the reason the person is sent.
type DecideAppealInput struct {
	Actor   Actor  `json:"actor"`
	Granted bool   `json:"granted"`
	Reason  string `json:"reason"`
}

// ExtendAppealInput moves an appeal's due date once, as far as the law allows.
type ExtendAppealInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

type appeal struct {
	in       AppealInput
	result   AppealResult
	seq      int64
	decision *DecideAppealInput
	// recordMu writes steps one at a time, so a later step never lands before an earlier
	// one (the row takes only steps above its last).
	recordMu workflow.Mutex
	// moved wakes the deadline watch when an extension changes the due date.
	moved bool
}

// Appeal runs one appeal from its receipt to a decision.
func Appeal(ctx workflow.Context, in AppealInput) (AppealResult, error) {
	ap := &appeal{in: in, result: AppealResult{Status: domain.AppealOpen, DueAt: in.DueAt}, recordMu: workflow.NewMutex(ctx)}
	if err := workflow.SetQueryHandler(ctx, QueryAppeal, func() (AppealResult, error) { return ap.result, nil }); err != nil {
		return ap.result, err
	}
	for _, u := range []update{
		{UpdateDecideAppeal, ap.decide, ap.validateDecide},
		{UpdateExtendAppeal, ap.extend, ap.validateExtend},
	} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return ap.result, err
		}
	}
	if err := ap.record(ctx, "appealed", Actor{Role: domain.RoleRequester}, nil); err != nil {
		return ap.result, err
	}
	if err := ap.watchDeadline(ctx); err != nil {
		return ap.result, err
	}
	d := ap.decision
	notice := mail.AppealDecision{Granted: d.Granted, Reason: d.Reason}
	if !d.Granted {
		notice.RegulatorName, notice.RegulatorURL = in.Regulator.Name, in.Regulator.URL
	}
	if err := ap.notify(ctx, mail.KindAppealDecision, notice); err != nil {
		return ap.result, err
	}
	err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return ap.result, err
}

// watchDeadline waits for the decision, alerting the team once 75% of the time to answer
// is gone and again, recording it, once the appeal is overdue. An extension starts the
// watch again for the new due date.
func (ap *appeal) watchDeadline(ctx workflow.Context) error {
	decided := func() bool { return ap.decision != nil }
	wake := func() bool { return decided() || ap.moved }
	alerted := false
	for !decided() {
		ap.moved = false
		var next time.Time
		switch {
		case ap.result.Overdue:
			// Nothing is left to alert about until a decision or an extension.
		case alerted:
			next = ap.result.DueAt
		default:
			next = domain.AlertAt(ap.in.ReceivedAt, ap.result.DueAt)
		}
		if next.IsZero() {
			if err := workflow.Await(ctx, wake); err != nil {
				return err
			}
		} else if d := next.Sub(workflow.Now(ctx)); d > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, d, wake); err != nil {
				return err
			}
		}
		switch {
		case decided():
			return nil
		case ap.moved:
			alerted = false
			continue
		case next.IsZero():
			continue
		}
		overdue := alerted
		alerted = true
		if overdue {
			ap.result.Overdue = true
			yes := true
			if err := ap.record(ctx, "appeal_overdue", system, &requestdb.AppealPatch{Overdue: &yes}); err != nil {
				return err
			}
		}
		if err := execute(ctx, a.AlertAppeal, activities.AlertAppealInput{RequestID: ap.in.RequestID, DueAt: ap.result.DueAt, Overdue: overdue}).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("appeal alert not delivered", "error", err)
		}
	}
	return nil
}

func (ap *appeal) validateDecide(in DecideAppealInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := requireText("reason", in.Reason); err != nil {
		return err
	}
	if ap.decision != nil {
		return refusal(RefusalClosed, "the appeal has been decided")
	}
	// Token IDs, not names: a name is a label anyone may share or change.
	if ap.in.RefusedByID != "" && in.Actor.ID == ap.in.RefusedByID {
		return refusal(RefusalSameStaff, "the staff member who refused the request may not decide its appeal; another must")
	}
	return nil
}

// decide records the decision before it answers, so that the caller's next read of the
// appeal shows it; the main loop then mails the person.
func (ap *appeal) decide(ctx workflow.Context, in DecideAppealInput) error {
	st, action := domain.AppealDenied, "appeal_denied"
	if in.Granted {
		st, action = domain.AppealGranted, "appeal_granted"
	}
	now := workflow.Now(ctx)
	patch := &requestdb.AppealPatch{Status: &st, DecidedBy: &in.Actor.Name, DecidedByID: &in.Actor.ID, DecidedAt: &now, DecisionReason: &in.Reason}
	if err := ap.record(ctx, action, in.Actor, patch, in.Reason); err != nil {
		return err
	}
	ap.result.Status, ap.result.DecidedAt = st, now
	ap.decision = &in
	return nil
}

func (ap *appeal) validateExtend(in ExtendAppealInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := requireText("reason", in.Reason); err != nil {
		return err
	}
	switch {
	case ap.decision != nil:
		return refusal(RefusalClosed, "the appeal has been decided")
	case !ap.in.Extension.Allows():
		return refusal(RefusalNotNow, "the law of this request allows no extension of an appeal")
	case ap.result.Extended:
		return refusal(RefusalNotNow, "the appeal's deadline has already been extended once")
	}
	return nil
}

// extend moves the due date and tells the person why, as the law asks (CPA
// §6-1-1306(3)(c)).
func (ap *appeal) extend(ctx workflow.Context, in ExtendAppealInput) error {
	due := ap.in.Extension.Extend(ap.in.DueAt)
	now := workflow.Now(ctx)
	patch := &requestdb.AppealPatch{DueAt: &due, ExtendedAt: &now, ExtensionReason: &in.Reason}
	if err := ap.record(ctx, "appeal_extended", in.Actor, patch, in.Reason); err != nil {
		return err
	}
	ap.result.DueAt, ap.result.Extended, ap.result.Overdue, ap.moved = due, true, false, true
	return ap.notify(ctx, mail.KindExtension, mail.Extension{NewDueDate: due, Reason: in.Reason, Appeal: true})
}

// record writes one appeal step to the request's audit trail and the appeal row.
func (ap *appeal) record(ctx workflow.Context, action string, actor Actor, patch *requestdb.AppealPatch, details ...string) error {
	if err := ap.recordMu.Lock(ctx); err != nil {
		return err
	}
	defer ap.recordMu.Unlock()
	ap.seq++
	in := activities.RecordAppealStepInput{
		RequestID: ap.in.RequestID, Seq: appealSeqBase + ap.seq, At: workflow.Now(ctx), Action: action,
		Actor: actor.Name, Role: actor.Role, Status: ap.in.RequestStatus, Details: details,
	}
	if patch != nil {
		in.Patch = *patch
	}
	if err := execute(ctx, a.RecordAppealStep, in).Get(ctx, nil); err != nil {
		return fmt.Errorf("record %s: %w", action, err)
	}
	return nil
}

// notify mails the person one notice about the appeal; the key makes a retried send a no-op.
func (ap *appeal) notify(ctx workflow.Context, kind mail.Kind, data any) error {
	return execute(ctx, a.SendNotice, activities.SendNoticeInput{
		Key:    fmt.Sprintf("%s:appeal:%s:%d", ap.in.RequestID, kind, ap.seq),
		Notice: mail.Notice{Kind: kind, RequestID: ap.in.RequestID, Data: data},
	}).Get(ctx, nil)
}
