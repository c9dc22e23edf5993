package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// PurgeRetainedInput names one record a store kept for a request.
type PurgeRetainedInput struct {
	RequestID string
	Store     string
	Ref       string
	// Seq numbers the purge's audit event; the workflow makes it unique per record.
	Seq int64
}

// PurgeRetained asks the store to erase a kept record whose retention has ended, and
// records the outcome in the request's audit log. A store that cannot purge is an error
// staff see, not a silent success.
func (a *Activities) PurgeRetained(ctx context.Context, in PurgeRetainedInput) (connector.PurgeOutcome, error) {
	var purger connector.Purger
	for _, s := range a.Stores {
		if s.Name() == in.Store {
			purger = s.Capabilities().Purger
		}
	}
	if purger == nil {
		return connector.PurgeOutcome{}, temporal.NewNonRetryableApplicationError("store "+in.Store+" cannot purge retained records", "NoPurge", nil)
	}
	out, err := purger.Purge(ctx, in.Ref)
	if err != nil {
		return out, fmt.Errorf("purge in %s: %w", in.Store, err)
	}
	if !out.Purged {
		return out, nil
	}
	details, err := json.Marshal([]string{in.Store, in.Ref})
	if err != nil {
		return out, err
	}
	_, err = a.Requests.ApplyStep(ctx, requestdb.Step{RequestID: in.RequestID, Seq: in.Seq, Event: requestdb.AuditEvent{
		At: time.Now().UTC(), Role: "system", Action: "retention_purged", Details: string(details),
	}})
	return out, err
}

// AddToSuppressionList puts the request's address, as its keyed hash, on the suppression
// list, so that marketing does not import or contact the person again.
func (a *Activities) AddToSuppressionList(ctx context.Context, in ClaimInput) error {
	req, err := a.Requests.GetRequest(ctx, in.RequestID)
	if err != nil {
		return err
	}
	return a.Requests.Suppress(ctx, req.EmailHash, req.ID)
}
