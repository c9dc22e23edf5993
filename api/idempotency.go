package api

import (
	"context"
	"time"

	"github.com/dsr-project/dsr/internal/requests"
)

// Headers of idempotent intake.
const (
	headerIdempotencyKey = "Idempotency-Key"
	// headerReplayed marks an answer given again for a retried Idempotency-Key.
	headerReplayed = "Idempotent-Replayed"
)

// maxIdempotencyKey bounds the key; UUIDs and the like are far shorter.
const maxIdempotencyKey = 255

// IdempotencyKeyLife is how long an answer is kept for retries; the server purges older
// keys while it serves.
const IdempotencyKeyLife = requests.IdempotencyKeyLife

func checkIdempotencyKey(key []string) error {
	const problem = "must be one value of 1 to 255 visible ASCII characters"
	if len(key) != 1 || len(key[0]) == 0 || len(key[0]) > maxIdempotencyKey {
		return badInput(headerIdempotencyKey, problem)
	}
	for _, b := range []byte(key[0]) {
		if b < 0x21 || b > 0x7e {
			return badInput(headerIdempotencyKey, problem)
		}
	}
	return nil
}

// purgeIdempotencyKeys deletes expired keys every hour until ctx ends.
func (s *Server) purgeIdempotencyKeys(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		n, err := s.opts.Requests.PurgeIdempotencyKeys(ctx, s.opts.Now().Add(-IdempotencyKeyLife))
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("purge of idempotency keys failed", "error", err)
		case n > 0:
			s.log.Debug("idempotency keys purged", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
