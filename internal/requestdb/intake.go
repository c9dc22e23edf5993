package requestdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/domain"
)

// Intake bookkeeping that the API needs beside the request row: Idempotency-Key records and
// opt-outs from a Global Privacy Control signal.

// IdempotencyKey remembers one intake made with an Idempotency-Key header, so a retry with
// the same key gets the same answer instead of a second request. It holds hashes only: the
// key and the body may both identify the requester.
type IdempotencyKey struct {
	KeyHash   string `gorm:"primaryKey"`
	BodyHash  string
	RequestID string // chosen when the key is claimed, so a takeover reopens the same request
	// Answer is the JSON answer, without the status token; empty while the intake runs.
	Answer      string
	CreatedAt   time.Time
	CompletedAt *time.Time
}

func (IdempotencyKey) TableName() string { return "idempotency_keys" }

// InFlight reports whether the intake that claimed the key has not answered yet.
func (k IdempotencyKey) InFlight() bool { return k.Answer == "" }

// ClaimIdempotencyKey stores k unless its key is already held, and returns the record that
// holds it and whether that is k. The primary key decides between concurrent claimants, so
// exactly one of them wins.
func (r *Repo) ClaimIdempotencyKey(ctx context.Context, k IdempotencyKey) (IdempotencyKey, bool, error) {
	k.CreatedAt, k.CompletedAt, k.Answer = utc(k.CreatedAt), nil, ""
	db := r.db.WithContext(ctx)
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&k)
	if res.Error != nil {
		return IdempotencyKey{}, false, fmt.Errorf("claim idempotency key: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return k, true, nil
	}
	var held IdempotencyKey
	err := db.Take(&held, "key_hash = ?", k.KeyHash).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// Released between our insert and our read: the caller may simply try again.
		return IdempotencyKey{}, false, fmt.Errorf("claim idempotency key: released meanwhile: %w", ErrConflict)
	}
	if err != nil {
		return IdempotencyKey{}, false, fmt.Errorf("read idempotency key: %w", err)
	}
	held.CreatedAt, held.CompletedAt = utc(held.CreatedAt), utcPtr(held.CompletedAt)
	return held, false, nil
}

// TakeOverIdempotencyKey claims an in-flight record whose intake stopped answering, such as
// one of a process that crashed, by restamping it at now. It reports whether the caller won:
// of several callers that read the same record, only one does.
func (r *Repo) TakeOverIdempotencyKey(ctx context.Context, held IdempotencyKey, now time.Time) (bool, error) {
	res := r.db.WithContext(ctx).Model(&IdempotencyKey{}).
		Where("key_hash = ? AND answer = '' AND created_at = ?", held.KeyHash, utc(held.CreatedAt)).
		Update("created_at", utc(now))
	if res.Error != nil {
		return false, fmt.Errorf("take over idempotency key: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// CompleteIdempotencyKey stores the answer of the intake that holds the key.
func (r *Repo) CompleteIdempotencyKey(ctx context.Context, keyHash, answer string, at time.Time) error {
	done := utc(at)
	err := r.db.WithContext(ctx).Model(&IdempotencyKey{}).Where("key_hash = ?", keyHash).
		Updates(map[string]any{"answer": answer, "completed_at": done}).Error
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey frees a key whose intake failed, so a retry may use it again. A key
// that has its answer is kept.
func (r *Repo) ReleaseIdempotencyKey(ctx context.Context, keyHash string) error {
	err := r.db.WithContext(ctx).Where("key_hash = ? AND answer = ''", keyHash).Delete(&IdempotencyKey{}).Error
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotencyKeys deletes the records created before the instant and returns how many.
func (r *Repo) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res := r.db.WithContext(ctx).Where("created_at < ?", utc(before)).Delete(&IdempotencyKey{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// OptOut is an opt-out recorded against the keyed hash of an address, without proof of the
// mailbox, as CCPA §7026 allows for opting out of sale and sharing. It applies to future
// sharing; the first record of an address and limit is kept.
type OptOut struct {
	EmailHash  string               `gorm:"primaryKey"`
	Limit      domain.RestrictLimit `gorm:"primaryKey;column:limit_kind"`
	Source     string               // "gpc": a Sec-GPC header on an intake
	RequestID  string               // the intake that carried the signal
	RecordedAt time.Time
}

func (OptOut) TableName() string { return "opt_outs" }

// RecordOptOut stores o unless the address already opted out of the same limit.
func (r *Repo) RecordOptOut(ctx context.Context, o OptOut) error {
	o.RecordedAt = utc(o.RecordedAt)
	if err := r.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&o).Error; err != nil {
		return fmt.Errorf("record %s opt-out for request %s: %w", o.Limit, o.RequestID, err)
	}
	return nil
}

// OptOuts returns the opt-outs recorded for an address hash, by limit.
func (r *Repo) OptOuts(ctx context.Context, emailHash string) ([]OptOut, error) {
	var out []OptOut
	if err := r.db.WithContext(ctx).Where("email_hash = ?", emailHash).Order("limit_kind").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("opt-outs: %w", err)
	}
	for i := range out {
		out[i].RecordedAt = utc(out[i].RecordedAt)
	}
	return out, nil
}
