package requests

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/singleflight"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/workflows"
)

// Bounds on waiting for the engine. An update runs activities (recording the step, mailing
// a code), so it gets longer than a query, which only replays the workflow.
const (
	updateTimeout = 30 * time.Second
	queryTimeout  = 10 * time.Second
)

// TemporalEngine runs request workflows on a Temporal client.
type TemporalEngine struct {
	client    client.Client
	taskQueue string
	// queries coalesces concurrent state queries of one request.
	queries singleflight.Group
}

// NewTemporalEngine returns an Engine that starts workflows on taskQueue.
func NewTemporalEngine(c client.Client, taskQueue string) *TemporalEngine {
	return &TemporalEngine{client: c, taskQueue: taskQueue}
}

// Start starts the request's workflow, with search attributes that carry no PII. A
// workflow that already runs under the request's ID is not an error: an intake that
// stopped half way resumes with it.
func (e *TemporalEngine) Start(ctx context.Context, in workflows.RequestInput) error {
	opts := client.StartWorkflowOptions{
		ID:                    workflows.RequestID(in.RequestID),
		TaskQueue:             e.taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.StatusKey.ValueSet(string(domain.StatusReceived)),
			workflows.RequestTypeKey.ValueSet(string(in.Type)),
			workflows.JurisdictionKey.ValueSet(string(in.Jurisdiction)),
			workflows.DueDateKey.ValueSet(in.DueAt),
		),
	}
	_, err := e.client.ExecuteWorkflow(ctx, opts, workflows.Request, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return domain.Unavailable(fmt.Errorf("start workflow of request %s: %w", in.RequestID, err))
	}
	return nil
}

// Update sends a workflow update and waits for its result.
func (e *TemporalEngine) Update(ctx context.Context, requestID, name string, result any, args ...any) error {
	return e.update(ctx, workflows.RequestID(requestID), requestID, name, result, args...)
}

// StartAppeal starts the workflow of a request's appeal. One that already runs or ran
// under the request's appeal ID is not an error: a submission that stopped half way
// resumes with it.
func (e *TemporalEngine) StartAppeal(ctx context.Context, in workflows.AppealInput) error {
	opts := client.StartWorkflowOptions{
		ID:                    workflows.AppealWorkflowID(in.RequestID),
		TaskQueue:             e.taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
	_, err := e.client.ExecuteWorkflow(ctx, opts, workflows.Appeal, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return domain.Unavailable(fmt.Errorf("start appeal of request %s: %w", in.RequestID, err))
	}
	return nil
}

// UpdateAppeal sends an update to a request's appeal and waits for its result.
func (e *TemporalEngine) UpdateAppeal(ctx context.Context, requestID, name string, result any, args ...any) error {
	return e.update(ctx, workflows.AppealWorkflowID(requestID), requestID, name, result, args...)
}

func (e *TemporalEngine) update(ctx context.Context, workflowID, requestID, name string, result any, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	handle, err := e.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   name,
		Args:         args,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(ctx, result)
	}
	if err != nil {
		return updateError(fmt.Errorf("%s update of request %s: %w", name, requestID, err))
	}
	return nil
}

// ErrClosed is the refusal of an action on a request that has ended.
var ErrClosed = domain.Refusal(ReasonClosed, "the request is closed")

// Reasons of refusals, stable for programs.
const (
	ReasonClosed  = "request_closed"
	ReasonRefused = "refused"
)

// updateError tells a refusal, whose message the workflow wrote for people, from a failure
// of the machinery, whose details stay in the log.
func updateError(err error) error {
	var notFound *serviceerror.NotFound
	var appErr *temporal.ApplicationError
	var activityErr *temporal.ActivityError
	var timeoutErr *temporal.TimeoutError
	var panicErr *temporal.PanicError
	var canceledErr *temporal.CanceledError
	switch {
	case errors.As(err, &notFound):
		// The server answers NotFound once a workflow has completed; requests are checked
		// to exist before an update is sent.
		return ErrClosed
	case errors.As(err, &activityErr), errors.As(err, &timeoutErr), errors.As(err, &panicErr), errors.As(err, &canceledErr):
		return domain.Unavailable(err)
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrorUnavailable:
		return domain.Unavailable(err)
	case errors.As(err, &appErr):
		refused := domain.Refusal(ReasonRefused, appErr.Message())
		if kind, ok := strings.CutPrefix(appErr.Type(), workflows.RefusalTypePrefix); ok {
			refused.Kind = kind
		}
		return refused
	}
	return domain.Unavailable(err)
}

// Terminate ends a workflow without running any more of it.
func (e *TemporalEngine) Terminate(ctx context.Context, requestID, reason string) error {
	return e.client.TerminateWorkflow(ctx, workflows.RequestID(requestID), "", reason)
}

// State returns the request workflow's whole state, closed workflows included. Callers
// asking for the same request at the same moment share one query: a query of a closed
// workflow replays its history on a worker.
func (e *TemporalEngine) State(ctx context.Context, requestID string) (workflows.RequestState, error) {
	v, err, _ := e.queries.Do(requestID, func() (any, error) {
		// The shared query outlives any one caller that gives up.
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queryTimeout)
		defer cancel()
		var st workflows.RequestState
		value, err := e.client.QueryWorkflow(qctx, workflows.RequestID(requestID), "", workflows.QueryState)
		if err == nil {
			err = value.Get(&st)
		}
		return st, err
	})
	if err != nil {
		return workflows.RequestState{}, domain.Unavailable(fmt.Errorf("state of request %s: %w", requestID, err))
	}
	return v.(workflows.RequestState), nil
}
