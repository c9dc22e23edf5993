package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/workflows"
)

// Bounds on waiting for the engine. An update runs activities (recording the step, mailing
// a code), so it gets longer than a query, which only replays the workflow.
const (
	updateTimeout = 30 * time.Second
	queryTimeout  = 10 * time.Second
)

// update sends a workflow update to the request and waits for its result. A rejection by
// the workflow's validator, or a request that is closed, answers 409.
func (s *Server) update(ctx context.Context, requestID, name string, result any, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	handle, err := s.opts.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.RequestID(requestID),
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

var errClosed = failCode(http.StatusConflict, codeClosed, "the request is closed")

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
		return errClosed
	case errors.As(err, &activityErr), errors.As(err, &timeoutErr), errors.As(err, &panicErr), errors.As(err, &canceledErr):
		return unavailable(err)
	case errors.As(err, &appErr):
		return failCode(http.StatusConflict, codeRefused, appErr.Message())
	}
	return unavailable(err)
}

// state returns the request workflow's whole state, closed workflows included. Callers
// asking for the same request at the same moment share one query: a query of a closed
// workflow replays its history on a worker, and a crowd of status pages must not turn into
// a crowd of replays.
func (s *Server) state(ctx context.Context, requestID string) (workflows.RequestState, error) {
	v, err, _ := s.queries.Do(requestID, func() (any, error) {
		// The shared query outlives any one caller that gives up.
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queryTimeout)
		defer cancel()
		var st workflows.RequestState
		value, err := s.opts.Temporal.QueryWorkflow(qctx, workflows.RequestID(requestID), "", workflows.QueryState)
		if err == nil {
			err = value.Get(&st)
		}
		return st, err
	})
	if err != nil {
		return workflows.RequestState{}, unavailable(fmt.Errorf("state of request %s: %w", requestID, err))
	}
	return v.(workflows.RequestState), nil
}
