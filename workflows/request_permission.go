package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// The permission stage of a request an authorized agent made: once the person has
// confirmed by the mailed code, staff review the permission the person signed, and accept
// it or refuse it with a reason (CCPA regulations §7063).

// Update names of the permission stage.
const (
	UpdateAcceptPermission = "accept-permission"
	UpdateRefusePermission = "refuse-permission"
)

// PermissionInput is a staff member's decision on an agent's permission; a refusal needs a
// reason, which the person is sent.
type PermissionInput struct {
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// permissionVersion is the workflow version that reviews agents' permissions.
const permissionVersion = "agent-permission"

func (r *request) permissionUpdates() []update {
	return []update{
		{UpdateAcceptPermission, r.acceptPermission, r.validatePermission(UpdateAcceptPermission)},
		{UpdateRefusePermission, r.refusePermission, r.validatePermission(UpdateRefusePermission)},
	}
}

// reviewPermission waits for staff to accept or refuse the agent's permission. It reports
// whether the request ended. Only agents' requests ask for the version, so a plain
// request's history is what it was.
func (r *request) reviewPermission(ctx workflow.Context) (bool, error) {
	if !r.in.ReviewPermission || workflow.GetVersion(ctx, permissionVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false, nil
	}
	r.state.PermissionPending = true
	if err := r.setStatus(ctx, domain.StatusPendingReview, "permission_review_started", system); err != nil {
		return true, err
	}
	if _, err := r.wait(ctx, time.Time{}, func() bool { return r.state.PermissionAccepted }); err != nil {
		return true, err
	}
	r.state.PermissionPending = false
	if r.state.PermissionAccepted {
		return false, nil
	}
	return r.interrupted(ctx)
}

func (r *request) validatePermission(update string) func(workflow.Context, PermissionInput) error {
	return func(ctx workflow.Context, in PermissionInput) error {
		if err := requireStaff(in.Actor); err != nil {
			return err
		}
		if update == UpdateRefusePermission {
			if err := requireText("reason", in.Reason); err != nil {
				return err
			}
		}
		return r.staffFacts(workflow.Now(ctx)).Refusal(update, in.Actor)
	}
}

func (r *request) acceptPermission(ctx workflow.Context, in PermissionInput) error {
	r.state.PermissionAccepted = true
	accepted := requestdb.PermissionAccepted
	return r.record(ctx, "permission_accepted", in.Actor, nil, &activities.StepChange{AgentPermission: &accepted}, in.Reason)
}

// refusePermission denies the request: the person is told why, the agent only that it
// was denied.
func (r *request) refusePermission(ctx workflow.Context, in PermissionInput) error {
	refused := requestdb.PermissionRefused
	if err := r.record(ctx, "permission_refused", in.Actor, nil, &activities.StepChange{AgentPermission: &refused}, in.Reason); err != nil {
		return err
	}
	r.denied = &ending{actor: in.Actor, reason: in.Reason}
	return nil
}

// tellAgent tells the agent of a request that expired or was cancelled that it ended; the
// person's completion and denial notices tell the agent on their own. Only agents'
// requests ask for the version, so a plain request's history is what it was.
func (r *request) tellAgent(ctx workflow.Context, s domain.Status) error {
	if !r.in.ReviewPermission || (s != domain.StatusExpired && s != domain.StatusCancelled) ||
		workflow.GetVersion(ctx, permissionVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	return r.notify(ctx, mail.KindAgentOutcome, mail.AgentOutcome{Outcome: string(s)})
}

var errPermissionFirst = errors.New("the agent's permission must be accepted first")
