package requestdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The storage of the Data Rights Protocol (internal/drp): agents' bearer tokens, the signed
// messages already taken, the requests agents opened and the status callbacks owed to them.

// DRPRequest links a dsr request to the authorized agent that opened it.
type DRPRequest struct {
	RequestID      string `gorm:"primaryKey"`
	AgentID        string
	AgentRequestID string
	Exercise       string
	Regime         string
	StatusCallback string
	ReceivedAt     time.Time
	// RevokedAt is set when the agent revoked the request (DRP section 2.04).
	RevokedAt *time.Time
}

func (DRPRequest) TableName() string { return "drp_requests" }

// DRPCallback is one status callback owed to an agent: its request changed status, or its
// deadline moved, at step StepSeq (0 for the callback owed on receipt).
type DRPCallback struct {
	ID        int64 `gorm:"primaryKey"`
	RequestID string
	StepSeq   int64
	CreatedAt time.Time
	Attempts  int
	NextAt    time.Time
	SentAt    *time.Time
	LastError string
}

func (DRPCallback) TableName() string { return "drp_callbacks" }

type drpAgentToken struct {
	AgentID   string `gorm:"primaryKey"`
	TokenHash string
	CreatedAt time.Time
}

func (drpAgentToken) TableName() string { return "drp_agent_tokens" }

type drpSeenMessage struct {
	SignatureHash string `gorm:"primaryKey"`
	AgentID       string
	ExpiresAt     time.Time
}

func (drpSeenMessage) TableName() string { return "drp_seen_messages" }

// SaveDRPToken makes tokenHash the agent's one bearer token, replacing any earlier one.
func (r *Repo) SaveDRPToken(ctx context.Context, agentID, tokenHash string, at time.Time) error {
	row := drpAgentToken{AgentID: agentID, TokenHash: tokenHash, CreatedAt: utc(at)}
	err := r.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "agent_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"token_hash", "created_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save drp token: %w", err)
	}
	return nil
}

// DRPAgentOfToken returns the agent whose token hashes to tokenHash, or ErrNotFound.
func (r *Repo) DRPAgentOfToken(ctx context.Context, tokenHash string) (string, error) {
	var ids []string
	err := r.db.WithContext(ctx).Model(&drpAgentToken{}).Where("token_hash = ?", tokenHash).Limit(1).Pluck("agent_id", &ids).Error
	if err != nil {
		return "", fmt.Errorf("drp token: %w", err)
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("drp token: %w", ErrNotFound)
	}
	return ids[0], nil
}

// RememberDRPMessage records a signed message as taken until it expires, and reports false
// when it was taken before: a replay. Messages past their expiry are forgotten, since the
// expiry check refuses them anyway.
func (r *Repo) RememberDRPMessage(ctx context.Context, signatureHash, agentID string, expiresAt, now time.Time) (bool, error) {
	fresh := false
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("expires_at < ?", utc(now)).Delete(&drpSeenMessage{}).Error; err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&drpSeenMessage{SignatureHash: signatureHash, AgentID: agentID, ExpiresAt: utc(expiresAt)})
		fresh = res.RowsAffected == 1
		return res.Error
	})
	if err != nil {
		return false, fmt.Errorf("remember drp message: %w", err)
	}
	return fresh, nil
}

// CreateDRPRequest links a request to its agent and, when the agent gave a status callback,
// owes it one for the status the request has now: steps the request took before the link
// was stored found no link to report to.
func (r *Repo) CreateDRPRequest(ctx context.Context, d *DRPRequest) error {
	d.ReceivedAt = utc(d.ReceivedAt)
	return r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(d).Error; err != nil {
			return fmt.Errorf("create drp request: %w", err)
		}
		if d.StatusCallback == "" {
			return nil
		}
		return enqueueDRPCallback(tx, d.RequestID, 0, d.ReceivedAt)
	})
}

// GetDRPRequest returns the agent's link of a request, or ErrNotFound.
func (r *Repo) GetDRPRequest(ctx context.Context, requestID string) (*DRPRequest, error) {
	var d DRPRequest
	err := r.db.WithContext(ctx).Take(&d, "request_id = ?", requestID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("drp request %s: %w", requestID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("drp request %s: %w", requestID, err)
	}
	d.ReceivedAt = utc(d.ReceivedAt)
	d.RevokedAt = utcPtr(d.RevokedAt)
	return &d, nil
}

// SetDRPRevoked records (at) or forgets (nil) the agent's revocation of a request.
func (r *Repo) SetDRPRevoked(ctx context.Context, requestID string, at *time.Time) error {
	err := r.db.WithContext(ctx).Model(&DRPRequest{}).Where("request_id = ?", requestID).
		Update("revoked_at", utcPtr(at)).Error
	if err != nil {
		return fmt.Errorf("revoke drp request %s: %w", requestID, err)
	}
	return nil
}

// enqueueDRPCallback owes the agent of a DRP request with a status callback a callback for
// step seq; it does nothing for other requests. A repeated step owes nothing more.
func enqueueDRPCallback(tx *gorm.DB, requestID string, seq int64, at time.Time) error {
	err := tx.Exec(`INSERT INTO drp_callbacks (request_id, step_seq, created_at, next_at)
		SELECT request_id, ?, ?, ? FROM drp_requests WHERE request_id = ? AND status_callback <> ''
		ON CONFLICT (request_id, step_seq) DO NOTHING`, seq, utc(at), utc(at), requestID).Error
	if err != nil {
		return fmt.Errorf("owe drp status callback: %w", err)
	}
	return nil
}

// DueDRPCallbacks returns up to limit unsent callbacks whose time has come, oldest first.
func (r *Repo) DueDRPCallbacks(ctx context.Context, now time.Time, limit int) ([]DRPCallback, error) {
	var out []DRPCallback
	err := r.db.WithContext(ctx).Where("sent_at IS NULL AND next_at <= ?", utc(now)).Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("due drp callbacks: %w", err)
	}
	return out, nil
}

// DRPCallbacksSent marks every unsent callback of the request up to and including upTo as
// sent: the callback just sent told the agent the request's latest state, which covers them.
func (r *Repo) DRPCallbacksSent(ctx context.Context, requestID string, upTo int64, at time.Time) error {
	err := r.db.WithContext(ctx).Model(&DRPCallback{}).Where("request_id = ? AND id <= ? AND sent_at IS NULL", requestID, upTo).
		Updates(map[string]any{"sent_at": utc(at), "attempts": gorm.Expr("attempts + 1"), "last_error": ""}).Error
	if err != nil {
		return fmt.Errorf("mark drp callbacks sent: %w", err)
	}
	return nil
}

// DRPCallbackFailed records a failed attempt and when to try again.
func (r *Repo) DRPCallbackFailed(ctx context.Context, id int64, next time.Time, reason string) error {
	err := r.db.WithContext(ctx).Model(&DRPCallback{}).Where("id = ?", id).
		Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "next_at": utc(next), "last_error": reason}).Error
	if err != nil {
		return fmt.Errorf("record failed drp callback: %w", err)
	}
	return nil
}

// DRPCallbacksOf returns the callbacks owed for a request, in order, for tests and staff.
func (r *Repo) DRPCallbacksOf(ctx context.Context, requestID string) ([]DRPCallback, error) {
	var out []DRPCallback
	if err := r.db.WithContext(ctx).Where("request_id = ?", requestID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("drp callbacks of %s: %w", requestID, err)
	}
	return out, nil
}
