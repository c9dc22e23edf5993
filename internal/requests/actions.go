package requests

import (
	"context"
	"errors"
	"strings"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// VerifyEmail checks the code the requester typed.
func (s *Service) VerifyEmail(ctx context.Context, requestID, code string) (workflows.VerifyEmailResult, error) {
	var out workflows.VerifyEmailResult
	err := s.opts.Engine.Update(ctx, requestID, workflows.UpdateVerifyEmail, &out, workflows.VerifyEmailInput{Code: strings.TrimSpace(code)})
	return out, err
}

// ResendCode mails a new code.
func (s *Service) ResendCode(ctx context.Context, requestID string) (workflows.ResendCodeResult, error) {
	var out workflows.ResendCodeResult
	err := s.opts.Engine.Update(ctx, requestID, workflows.UpdateResendCode, &out)
	return out, err
}

// SubmitIdentity checks the data points the requester gave.
func (s *Service) SubmitIdentity(ctx context.Context, requestID string, answers map[string]string) (workflows.SubmitIdentityResult, error) {
	var out workflows.SubmitIdentityResult
	err := s.opts.Engine.Update(ctx, requestID, workflows.UpdateSubmitIdentity, &out, workflows.SubmitIdentityInput{Answers: answers})
	return out, err
}

// StaffAction is one decision of the privacy team about a request.
type StaffAction struct {
	// Name is the action: one of StaffActions.
	Name     string
	Actor    workflows.Actor
	Reason   string
	Text     string
	Assignee string
	Store    string
}

// StaffActions maps each action staff may take to the workflow update that carries it out;
// the workflow's validator decides whether it is allowed now.
var StaffActions = map[string]string{
	"accept-permission": workflows.UpdateAcceptPermission,
	"refuse-permission": workflows.UpdateRefusePermission,
	"approve":           workflows.UpdateApprove,
	"deny":              workflows.UpdateDeny,
	"verify-identity":   workflows.UpdateVerifyIdentity,
	"extend":            workflows.UpdateExtend,
	"cancel":            workflows.UpdateCancel,
	"retry":             workflows.UpdateRetryStore,
	"notes":             workflows.UpdateAddNote,
	"assign":            workflows.UpdateAssign,
}

var errNoAction = domain.Errorf(domain.CodeNotFound, "no such action")

// Act applies a staff action through the request's workflow.
func (s *Service) Act(ctx context.Context, requestID string, a StaffAction) error {
	update, ok := StaffActions[a.Name]
	if !ok {
		return errNoAction
	}
	row, err := s.Find(ctx, requestID)
	if err != nil {
		return err
	}
	return s.opts.Engine.Update(ctx, row.ID, update, nil, updateInput(update, a))
}

// updateInput is the input of a staff action's update: each update takes its own type.
func updateInput(update string, a StaffAction) any {
	switch update {
	case workflows.UpdateAcceptPermission, workflows.UpdateRefusePermission:
		return workflows.PermissionInput{Actor: a.Actor, Reason: a.Reason}
	case workflows.UpdateApprove:
		return workflows.ApproveInput{Actor: a.Actor, Reason: a.Reason}
	case workflows.UpdateDeny:
		return workflows.DenyInput{Actor: a.Actor, Reason: a.Reason}
	case workflows.UpdateVerifyIdentity:
		return workflows.VerifyIdentityInput{Actor: a.Actor, Reason: a.Reason}
	case workflows.UpdateExtend:
		return workflows.ExtendInput{Actor: a.Actor, Reason: a.Reason}
	case workflows.UpdateCancel:
		return workflows.CancelInput{Actor: a.Actor, Reason: a.Reason}
	case workflows.UpdateRetryStore:
		return workflows.RetryStoreInput{Actor: a.Actor, Store: a.Store}
	case workflows.UpdateAddNote:
		return workflows.AddNoteInput{Actor: a.Actor, Text: a.Text}
	case workflows.UpdateAssign:
		return workflows.AssignInput{Actor: a.Actor, Assignee: a.Assignee}
	}
	// Act only passes the updates of StaffActions.
	panic("no input for update " + update)
}

// ActAndReport applies a staff action and returns the workflow's state after it, as the
// JSON API answers.
func (s *Service) ActAndReport(ctx context.Context, requestID string, a StaffAction) (workflows.RequestState, error) {
	if err := s.Act(ctx, requestID, a); err != nil {
		return workflows.RequestState{}, err
	}
	return s.opts.Engine.State(ctx, requestID)
}

// Task errors.
var (
	errNoTask   = domain.Errorf(domain.CodeNotFound, "no such task")
	errTaskDone = domain.Errorf(domain.CodeConflict, "the task is already done")
)

// CompleteTask hands a manual task's result to its request's workflow, whose validator
// decides whether the request takes it now, and only then closes the task: a task is never
// done while its request still waits for it.
func (s *Service) CompleteTask(ctx context.Context, id string, result connector.Result, note string, actor workflows.Actor) (*requestdb.Task, error) {
	task, err := s.FindTask(ctx, id)
	if err != nil {
		return nil, err
	}
	if task.Status == requestdb.TaskDone {
		return nil, errTaskDone
	}
	result.Store = task.Store
	in := workflows.StoreResultInput{Store: task.Store, Result: result, Actor: actor}
	if err := s.opts.Engine.Update(ctx, task.RequestID, workflows.UpdateStoreResult, nil, in); err != nil {
		return nil, err
	}
	done, err := s.opts.Store.CompleteTask(ctx, task.ID, result, note, actor.Name)
	switch {
	case errors.Is(err, requestdb.ErrConflict):
		return nil, errTaskDone
	case errors.Is(err, requestdb.ErrNotFound):
		return nil, errNoTask
	case err != nil:
		return nil, domain.Unavailable(err)
	}
	return done, nil
}

// FindTask returns the task of an ID, "request-id:store".
func (s *Service) FindTask(ctx context.Context, id string) (*requestdb.Task, error) {
	task, err := s.opts.Store.GetTask(ctx, id)
	switch {
	case errors.Is(err, requestdb.ErrNotFound):
		return nil, errNoTask
	case err != nil:
		return nil, domain.Unavailable(err)
	}
	return task, nil
}

// StoreAnswered takes a store's late result, from a callback whose signature the caller
// checked. A repeat of a result the request already took is harmless, as the webhook
// protocol promises, even once the request has moved on or closed.
func (s *Service) StoreAnswered(ctx context.Context, requestID, store string, result connector.Result) error {
	row, err := s.Find(ctx, requestID)
	if err != nil {
		return err
	}
	in := workflows.StoreResultInput{Store: store, Result: result, Actor: workflows.Actor{Name: store, Role: domain.RoleSystem}}
	err = s.opts.Engine.Update(ctx, row.ID, workflows.UpdateStoreResult, nil, in)
	if err == nil || domain.ErrorCodeOf(err) != domain.CodeConflict {
		return err
	}
	progress, perr := s.opts.Store.StoreProgressOf(ctx, row.ID)
	if perr != nil {
		s.log.Warn("store progress unavailable", "request_id", row.ID, "error", perr)
		return err
	}
	for _, p := range progress {
		if p.Store == store && p.State == requestdb.StoreDone {
			return nil
		}
	}
	return err
}
