package requests

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

const (
	// idempotencyStall is how long a claimed key may go without an answer before an intake
	// with the same key takes it over: well beyond the slowest intake, whose engine and
	// database calls are bounded by the server's timeouts.
	idempotencyStall = 2 * time.Minute
	// IdempotencyKeyLife is how long an answer is kept for retries.
	IdempotencyKeyLife = 24 * time.Hour
	// claimAttempts bounds how often an intake retries a claim released under it.
	claimAttempts = 3
)

// Reasons of idempotency refusals, stable for programs.
const (
	ReasonKeyReused     = "idempotency_key_reused"
	ReasonKeyInProgress = "idempotency_key_in_progress"
)

var (
	errKeyReused = &domain.Error{Code: domain.CodeInvalid, Reason: ReasonKeyReused,
		Message: "this Idempotency-Key was used for a different request; use a new key for a new request"}
	errKeyInProgress = &domain.Error{Code: domain.CodeConflict, Reason: ReasonKeyInProgress, RetryAfter: time.Second,
		Message: "a request with this Idempotency-Key is still being processed; retry shortly"}
)

// openOnce opens the request unless an intake with the same key already did: then it
// answers as that intake did, or refuses when the key came with a different intake, and
// reports that it replayed. Only keyed hashes of the key and the intake are stored, and the
// answer without its status token, which is derived again from the key.
func (s *Service) openOnce(ctx context.Context, in Intake, o Opening) (Opened, bool, error) {
	keyHash := s.keyedHash("idempotency-key", []byte(o.IdempotencyKey))
	bodyHash, err := s.intakeHash(in, o)
	if err != nil {
		return Opened{}, false, domain.Internal(err)
	}
	for range claimAttempts {
		now := s.opts.Now()
		held, won, err := s.opts.Store.ClaimIdempotencyKey(ctx, requestdb.IdempotencyKey{
			KeyHash: keyHash, BodyHash: bodyHash, RequestID: uuid.NewString(), CreatedAt: now,
		})
		switch {
		case errors.Is(err, requestdb.ErrConflict):
			continue
		case err != nil:
			return Opened{}, false, domain.Unavailable(err)
		case !hmac.Equal([]byte(held.BodyHash), []byte(bodyHash)):
			return Opened{}, false, errKeyReused
		case !held.InFlight():
			answer, err := s.replay(keyHash, held, o)
			return answer, err == nil, err
		case !won && now.Sub(held.CreatedAt) < idempotencyStall:
			return Opened{}, false, errKeyInProgress
		case !won:
			took, err := s.opts.Store.TakeOverIdempotencyKey(ctx, held, now)
			if err != nil {
				return Opened{}, false, domain.Unavailable(err)
			}
			if !took {
				return Opened{}, false, errKeyInProgress
			}
		}
		token := ""
		if o.hasStatusToken() {
			token = s.idempotentToken(keyHash, held.RequestID)
		}
		answer, err := s.open(ctx, in, o, held.RequestID, token)
		if err != nil {
			s.releaseKey(keyHash)
			return Opened{}, false, err
		}
		s.completeKey(ctx, keyHash, answer)
		return answer, false, nil
	}
	return Opened{}, false, domain.Unavailable(errors.New("idempotency key kept being released"))
}

// replay rebuilds the stored answer with its status token, if it had one.
func (s *Service) replay(keyHash string, held requestdb.IdempotencyKey, o Opening) (Opened, error) {
	var answer Opened
	if err := json.Unmarshal([]byte(held.Answer), &answer); err != nil {
		return Opened{}, domain.Internal(fmt.Errorf("stored idempotent answer: %w", err))
	}
	if o.hasStatusToken() {
		answer.StatusToken = s.idempotentToken(keyHash, answer.ID)
	}
	return answer, nil
}

// completeKey stores the answer. If that fails the request is still open and answered; a
// retry then takes the stalled key over and finds the same request, so it is only logged.
func (s *Service) completeKey(ctx context.Context, keyHash string, answer Opened) {
	answer.StatusToken = ""
	raw, err := json.Marshal(answer)
	if err == nil {
		err = s.opts.Store.CompleteIdempotencyKey(ctx, keyHash, string(raw), s.opts.Now())
	}
	if err != nil {
		s.log.Error("idempotent answer not stored", "request_id", answer.ID, "error", err)
	}
}

// releaseKey frees the key of a failed intake so that the client's retry can use it. It
// runs on its own context: the failure may be the client's request ending.
func (s *Service) releaseKey(keyHash string) {
	ctx, cancel := context.WithTimeout(context.Background(), abandonTimeout)
	defer cancel()
	if err := s.opts.Store.ReleaseIdempotencyKey(ctx, keyHash); err != nil {
		s.log.Error("idempotency key not released; it frees itself once stalled", "error", err)
	}
}

// keyedHash is an HMAC under a key derived from the server secret for one purpose, so the
// stored hashes cannot be reversed by guessing addresses or keys without the secret.
func (s *Service) keyedHash(purpose string, parts ...[]byte) string {
	m := hmac.New(sha256.New, s.opts.Secret.Derive(purpose))
	for _, p := range parts {
		fmt.Fprintf(m, "%d:", len(p))
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// intakeHash identifies the validated intake, so a retry that differs only in spelling
// (spaces, case of the address, key order) counts as the same body.
func (s *Service) intakeHash(in Intake, o Opening) (string, error) {
	canonical, err := json.Marshal(struct {
		Intake
		GPC bool
	}{in, o.GPC})
	if err != nil {
		return "", fmt.Errorf("hash intake: %w", err)
	}
	return s.keyedHash("idempotency-body", canonical), nil
}

// idempotentToken derives the status token of a request opened with an idempotency key,
// so that a retry can be given it again without the token ever being stored.
func (s *Service) idempotentToken(keyHash, requestID string) string {
	m := hmac.New(sha256.New, s.opts.Secret.Derive("idempotent-status-token"))
	fmt.Fprintf(m, "%s:%s", keyHash, requestID)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
