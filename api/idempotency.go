package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/internal/requestdb"
)

// Headers of idempotent intake.
const (
	headerIdempotencyKey = "Idempotency-Key"
	// headerReplayed marks an answer given again for a retried Idempotency-Key.
	headerReplayed = "Idempotent-Replayed"
)

const (
	// maxIdempotencyKey bounds the key; UUIDs and the like are far shorter.
	maxIdempotencyKey = 255
	// idempotencyStall is how long a claimed key may go without an answer before an intake
	// with the same key takes it over: well beyond the slowest intake, whose engine and
	// database calls are bounded by the server's timeouts.
	idempotencyStall = 2 * time.Minute
	// IdempotencyKeyLife is how long an answer is kept for retries; the server purges
	// older keys while it serves.
	IdempotencyKeyLife = 24 * time.Hour
	// claimAttempts bounds how often an intake retries a claim released under it.
	claimAttempts = 3
)

var (
	errKeyReused = failCode(http.StatusUnprocessableEntity, codeIdempotencyKeyReused,
		"this Idempotency-Key was used for a different request; use a new key for a new request")
	errKeyInProgress = &apiError{status: http.StatusConflict, code: codeIdempotencyInProgress, retryAfter: "1",
		message: "a request with this Idempotency-Key is still being processed; retry shortly"}
)

// openOnce opens the request unless an intake with the same Idempotency-Key already did:
// then it answers as that intake did, or 422 when the key came with a different body, and
// reports that it replayed. Only keyed hashes of the key and the body are stored, and the
// answer without its status token, which is derived again from the key.
func (s *Server) openOnce(ctx context.Context, key []string, in intake, o opening) (IntakeAnswer, bool, error) {
	if err := checkIdempotencyKey(key); err != nil {
		return IntakeAnswer{}, false, err
	}
	keyHash := s.keyedHash("idempotency-key", []byte(key[0]))
	bodyHash, err := s.intakeHash(in, o)
	if err != nil {
		return IntakeAnswer{}, false, internalError(err)
	}
	for range claimAttempts {
		now := s.opts.Now()
		held, won, err := s.opts.Requests.ClaimIdempotencyKey(ctx, requestdb.IdempotencyKey{
			KeyHash: keyHash, BodyHash: bodyHash, RequestID: uuid.NewString(), CreatedAt: now,
		})
		switch {
		case errors.Is(err, requestdb.ErrConflict):
			continue
		case err != nil:
			return IntakeAnswer{}, false, unavailable(err)
		case !hmac.Equal([]byte(held.BodyHash), []byte(bodyHash)):
			return IntakeAnswer{}, false, errKeyReused
		case !held.InFlight():
			answer, err := s.replay(keyHash, held)
			return answer, err == nil, err
		case !won && now.Sub(held.CreatedAt) < idempotencyStall:
			return IntakeAnswer{}, false, errKeyInProgress
		case !won:
			took, err := s.opts.Requests.TakeOverIdempotencyKey(ctx, held, now)
			if err != nil {
				return IntakeAnswer{}, false, unavailable(err)
			}
			if !took {
				return IntakeAnswer{}, false, errKeyInProgress
			}
		}
		o.id, o.token = held.RequestID, s.idempotentToken(keyHash, held.RequestID)
		answer, err := s.openRequest(ctx, in, o)
		if err != nil {
			s.releaseKey(keyHash)
			return IntakeAnswer{}, false, err
		}
		s.completeKey(ctx, keyHash, answer)
		return answer, false, nil
	}
	return IntakeAnswer{}, false, unavailable(errors.New("idempotency key kept being released"))
}

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

// replay rebuilds the stored answer with its status token.
func (s *Server) replay(keyHash string, held requestdb.IdempotencyKey) (IntakeAnswer, error) {
	var answer IntakeAnswer
	if err := json.Unmarshal([]byte(held.Answer), &answer); err != nil {
		return IntakeAnswer{}, internalError(fmt.Errorf("stored idempotent answer: %w", err))
	}
	answer.StatusToken = s.idempotentToken(keyHash, answer.ID)
	return answer, nil
}

// completeKey stores the answer. If that fails the request is still open and answered; a
// retry then takes the stalled key over and finds the same request, so it is only logged.
func (s *Server) completeKey(ctx context.Context, keyHash string, answer IntakeAnswer) {
	answer.StatusToken = ""
	raw, err := json.Marshal(answer)
	if err == nil {
		err = s.opts.Requests.CompleteIdempotencyKey(ctx, keyHash, string(raw), s.opts.Now())
	}
	if err != nil {
		s.log.Error("idempotent answer not stored", "request_id", answer.ID, "error", err)
	}
}

// releaseKey frees the key of a failed intake so that the client's retry can use it. It
// runs on its own context: the failure may be the client's request ending.
func (s *Server) releaseKey(keyHash string) {
	ctx, cancel := context.WithTimeout(context.Background(), abandonTimeout)
	defer cancel()
	if err := s.opts.Requests.ReleaseIdempotencyKey(ctx, keyHash); err != nil {
		s.log.Error("idempotency key not released; it frees itself once stalled", "error", err)
	}
}

// keyedHash is an HMAC under a key derived from the server secret for one purpose, so the
// stored hashes cannot be reversed by guessing addresses or keys without the secret.
func (s *Server) keyedHash(purpose string, parts ...[]byte) string {
	m := hmac.New(sha256.New, s.opts.Secret.Derive(purpose))
	for _, p := range parts {
		fmt.Fprintf(m, "%d:", len(p))
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// intakeHash identifies the validated intake, so a retry that differs only in spelling
// (spaces, case of the address, key order) counts as the same body.
func (s *Server) intakeHash(in intake, o opening) (string, error) {
	canonical, err := json.Marshal(struct {
		intake
		GPC bool
	}{in, o.gpc})
	if err != nil {
		return "", fmt.Errorf("hash intake: %w", err)
	}
	return s.keyedHash("idempotency-body", canonical), nil
}

// idempotentToken derives the status token of a request opened with an Idempotency-Key, so
// that a retry can be given it again without the token ever being stored.
func (s *Server) idempotentToken(keyHash, requestID string) string {
	m := hmac.New(sha256.New, s.opts.Secret.Derive("idempotent-status-token"))
	fmt.Fprintf(m, "%s:%s", keyHash, requestID)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
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
