package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
)

// Staff housekeeping, open at any stage: the deadline and its extension, cancellation,
// notes and assignment.

// Update names of staff housekeeping.
const (
	UpdateExtend  = "extend"
	UpdateCancel  = "cancel"
	UpdateAddNote = "add-note"
	UpdateAssign  = "assign"
)

// ExtendInput moves the due date once, as far as the law allows; the reason is mailed.
type ExtendInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// CancelInput ends a request that is waiting.
type CancelInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// AddNoteInput adds a staff member's note to the request.
type AddNoteInput struct {
	Actor Actor  `json:"actor"`
	Text  string `json:"text"`
}

// AssignInput names who works on the request; empty unassigns it.
type AssignInput struct {
	Actor    Actor  `json:"actor"`
	Assignee string `json:"assignee"`
}

// Note is a staff member's note on a request.
type Note struct {
	Author string    `json:"author"`
	Text   string    `json:"text"`
	At     time.Time `json:"at"`
}

func (r *request) staffUpdates() []update {
	return []update{
		{UpdateExtend, r.extend, r.validateExtend},
		{UpdateCancel, r.cancel, r.validateCancel},
		{UpdateAddNote, r.addNote, r.validateAddNote},
		{UpdateAssign, r.assign, r.validateAssign},
	}
}

// watchDeadline raises an internal alert once 75% of the time to answer is gone, and again
// for an extended due date.
func (r *request) watchDeadline(ctx workflow.Context) {
	for !r.state.Status.Terminal() {
		r.dueChanged = false
		alertAt := domain.AlertAt(r.state.ReceivedAt, r.state.DueAt)
		if d := alertAt.Sub(workflow.Now(ctx)); d > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, d, func() bool { return r.dueChanged || r.state.Status.Terminal() }); err != nil {
				return
			}
		}
		if r.dueChanged {
			continue
		}
		if r.state.Status.Terminal() {
			return
		}
		if !r.state.DeadlineAlerted {
			r.state.DeadlineAlerted = true
			if err := r.record(ctx, "deadline_alert", Actor{Role: domain.RoleSystem}, nil, nil, "75% of the time to respond is used"); err != nil {
				return
			}
			err := r.execute(ctx, a.AlertTeam, activities.AlertTeamInput{RequestID: r.in.RequestID, DueAt: r.state.DueAt}).Get(ctx, nil)
			if err != nil {
				workflow.GetLogger(ctx).Error("deadline alert not delivered", "error", err)
			}
		}
		if err := workflow.Await(ctx, func() bool { return r.dueChanged || r.state.Status.Terminal() }); err != nil {
			return
		}
		r.state.DeadlineAlerted = false
	}
}

func (r *request) validateExtend(ctx workflow.Context, in ExtendInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := requireText("reason", in.Reason); err != nil {
		return err
	}
	return r.staffFacts(workflow.Now(ctx)).Refusal(UpdateExtend, in.Actor)
}

func (r *request) extend(ctx workflow.Context, in ExtendInput) error {
	due := domain.ExtendedDueDate(r.in.Jurisdiction, r.state.OriginalDueAt, r.in.Deadline)
	now := workflow.Now(ctx)
	r.state.Extended, r.state.ExtensionReason, r.state.DueAt = true, in.Reason, due
	r.dueChanged = true
	if err := workflow.UpsertTypedSearchAttributes(ctx, DueDateKey.ValueSet(due)); err != nil {
		return err
	}
	change := &activities.StepChange{DueAt: &due, ExtendedAt: &now, ExtensionReason: &in.Reason}
	if err := r.record(ctx, "extended", in.Actor, nil, change, in.Reason); err != nil {
		return err
	}
	if r.in.OpenedBy != "" {
		return nil
	}
	return r.notify(ctx, mail.KindExtension, mail.Extension{NewDueDate: due, Reason: in.Reason})
}

func (r *request) validateCancel(ctx workflow.Context, in CancelInput) error {
	// Besides staff, the requester may withdraw a request: an authorized agent revokes one
	// for them by the Data Rights Protocol (DRP 1.0 section 2.04).
	if in.Actor.Role != domain.RoleRequester || in.Actor.Name == "" {
		if err := requireStaff(in.Actor); err != nil {
			return err
		}
	}
	if err := requireText("reason", in.Reason); err != nil {
		return err
	}
	return r.staffFacts(workflow.Now(ctx)).Refusal(UpdateCancel, in.Actor)
}

func (r *request) cancel(_ workflow.Context, in CancelInput) error {
	r.cancelled = &ending{actor: in.Actor, reason: in.Reason}
	return nil
}

func (r *request) validateAddNote(ctx workflow.Context, in AddNoteInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if err := requireText("note", in.Text); err != nil {
		return err
	}
	return r.staffFacts(workflow.Now(ctx)).Refusal(UpdateAddNote, in.Actor)
}

func (r *request) addNote(ctx workflow.Context, in AddNoteInput) error {
	r.state.Notes = append(r.state.Notes, Note{Author: in.Actor.Name, Text: in.Text, At: workflow.Now(ctx)})
	return r.record(ctx, "note_added", in.Actor, nil, nil, in.Text)
}

func (r *request) validateAssign(ctx workflow.Context, in AssignInput) error {
	if err := requireStaff(in.Actor); err != nil {
		return err
	}
	if len(in.Assignee) > 200 {
		return errors.New("the assignee name is too long")
	}
	return r.staffFacts(workflow.Now(ctx)).Refusal(UpdateAssign, in.Actor)
}

func (r *request) assign(ctx workflow.Context, in AssignInput) error {
	r.state.Assignee = in.Assignee
	return r.record(ctx, "assigned", in.Actor, nil, &activities.StepChange{Assignee: &in.Assignee}, in.Assignee)
}
