package activities

import (
	"context"
	"time"

	"github.com/dsr-project/dsr/internal/requestdb"
)

// RecordSelfCheckInput names the self-check run to record.
type RecordSelfCheckInput struct {
	CheckID   string
	StartedAt time.Time
}

// RecordSelfCheckResult tells which worker recorded the run.
type RecordSelfCheckResult struct {
	Worker string
}

// RecordSelfCheck writes one row per self-check run. The check ID is the primary key and a
// second insert of it does nothing, so a retried activity leaves exactly one row.
func (a *Activities) RecordSelfCheck(ctx context.Context, in RecordSelfCheckInput) (RecordSelfCheckResult, error) {
	stored, err := a.Requests.RecordSelfCheck(ctx, requestdb.SelfCheck{
		ID: in.CheckID, StartedAt: in.StartedAt, RecordedAt: time.Now(), Worker: a.Worker,
	})
	if err != nil {
		return RecordSelfCheckResult{}, err
	}
	return RecordSelfCheckResult{Worker: stored.Worker}, nil
}
