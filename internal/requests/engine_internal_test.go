package requests

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/workflows"
)

// An identity check still running after the API stopped waiting could use an attempt
// the requester was told had failed; the check must end, retries and all, while the API
// still waits for its answer.
func TestUpdatesOutwaitAnIdentityCheck(t *testing.T) {
	const margin = 5 * time.Second // picking up the update, recording the step
	if workflows.IdentityCheckTimeout+margin > updateTimeout {
		t.Errorf("identity checks run up to %s, the API waits %s for an update", workflows.IdentityCheckTimeout, updateTimeout)
	}
}

// A failure the workflow marks unavailable is the requester's cue to try again, with the
// generic message: its own text and cause stay in the log.
func TestAnUnavailableUpdateFailureAsksToTryAgain(t *testing.T) {
	cause := errors.New("store crm: match data points: database is locked")
	err := updateError(temporal.NewApplicationErrorWithCause("the systems did not answer", workflows.ErrorUnavailable, cause))
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeUnavailable || de.Message != domain.Unavailable(nil).Message {
		t.Errorf("updateError = %#v, want the unavailable error", err)
	}
	refusal := updateError(temporal.NewApplicationError("the code is 6 to 8 digits", ""))
	if !errors.As(refusal, &de) || de.Code != domain.CodeConflict || de.Message != "the code is 6 to 8 digits" {
		t.Errorf("a refusal became %#v", refusal)
	}
}
