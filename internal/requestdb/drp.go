package requestdb

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/domain"
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
	// IdentityAnswers are the data points the agent's identity claims give, such as
	// postal_code; CreateDRPRequest seals them, and they are never read back into this field.
	IdentityAnswers map[string]string `gorm:"-"`
	IdentityKeyID   string
	IdentityClaims  string
	IdentityFedAt   *time.Time
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
	if len(d.IdentityAnswers) > 0 {
		raw, err := json.Marshal(d.IdentityAnswers)
		if err != nil {
			return fmt.Errorf("encode drp identity claims: %w", err)
		}
		if r.resultKeys == nil {
			return fmt.Errorf("seal drp identity claims of request %s: %w", d.RequestID, ErrNoResultKeys)
		}
		keyID, sealed, err := r.resultKeys.Seal(raw, drpIdentityAD(d.RequestID))
		if err != nil {
			return fmt.Errorf("seal drp identity claims of request %s: %w", d.RequestID, err)
		}
		d.IdentityKeyID, d.IdentityClaims = keyID, base64.StdEncoding.EncodeToString(sealed)
	}
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

// DRPCallbackFailed records a failed attempt to send the request's callbacks up to and
// including upTo, and when to try them again.
func (r *Repo) DRPCallbackFailed(ctx context.Context, requestID string, upTo int64, next time.Time, reason string) error {
	err := r.db.WithContext(ctx).Model(&DRPCallback{}).Where("request_id = ? AND id <= ? AND sent_at IS NULL", requestID, upTo).
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

// drpIdentityAD binds sealed identity claims to their request.
func drpIdentityAD(requestID string) []byte { return []byte("drp-identity\x00" + requestID) }

// DRPIdentity is the data points an agent's claims give for a request that now asks for them.
type DRPIdentity struct {
	RequestID string
	Answers   map[string]string
}

// ClaimDRPIdentities erases the identity claims of closed requests, then takes up to limit
// requests that wait for data points and whose claims nobody has taken, marking them taken
// at now, and returns their claims opened. Taking before handing them over means a crash
// loses a hand-over (the person answers on dsr's page instead) but never makes two.
func (r *Repo) ClaimDRPIdentities(ctx context.Context, now time.Time, limit int) ([]DRPIdentity, error) {
	db := r.db.WithContext(ctx)
	err := db.Model(&DRPRequest{}).Where("identity_claims <> '' AND request_id IN (?)",
		db.Model(&Request{}).Select("id").Where("status IN ?", []domain.Status{domain.StatusCompleted, domain.StatusDenied, domain.StatusCancelled, domain.StatusExpired})).
		Updates(map[string]any{"identity_claims": "", "identity_key_id": ""}).Error
	if err != nil {
		return nil, fmt.Errorf("erase drp identity claims of closed requests: %w", err)
	}
	var due []DRPRequest
	err = db.Where("identity_claims <> '' AND identity_fed_at IS NULL AND request_id IN (?)",
		db.Model(&Request{}).Select("id").Where("status = ?", domain.StatusAwaitingIdentityVerification)).
		Limit(limit).Find(&due).Error
	if err != nil {
		return nil, fmt.Errorf("drp identity claims due: %w", err)
	}
	var out []DRPIdentity
	for _, d := range due {
		res := db.Model(&DRPRequest{}).Where("request_id = ? AND identity_fed_at IS NULL", d.RequestID).Update("identity_fed_at", utc(now))
		if res.Error != nil {
			return out, fmt.Errorf("take drp identity claims of request %s: %w", d.RequestID, res.Error)
		}
		if res.RowsAffected == 0 {
			continue // another process took them
		}
		sealed, err := base64.StdEncoding.DecodeString(d.IdentityClaims)
		if err != nil {
			return out, fmt.Errorf("drp identity claims of request %s are not base64", d.RequestID)
		}
		raw, err := r.resultKeys.Open(d.IdentityKeyID, sealed, drpIdentityAD(d.RequestID))
		if err != nil {
			return out, fmt.Errorf("open drp identity claims of request %s: %w", d.RequestID, err)
		}
		id := DRPIdentity{RequestID: d.RequestID}
		if err := json.Unmarshal(raw, &id.Answers); err != nil {
			return out, fmt.Errorf("decode drp identity claims of request %s: %w", d.RequestID, err)
		}
		out = append(out, id)
	}
	return out, nil
}

// DRPIdentityHandedOver erases the claims of a request whose identity check took them, or
// (done false) gives them back to be handed over again, as after a check that could not run.
func (r *Repo) DRPIdentityHandedOver(ctx context.Context, requestID string, done bool) error {
	update := map[string]any{"identity_fed_at": nil}
	if done {
		update = map[string]any{"identity_claims": "", "identity_key_id": ""}
	}
	if err := r.db.WithContext(ctx).Model(&DRPRequest{}).Where("request_id = ?", requestID).Updates(update).Error; err != nil {
		return fmt.Errorf("hand over drp identity claims of request %s: %w", requestID, err)
	}
	return nil
}
