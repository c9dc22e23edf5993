package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/keys"
)

// Session is a signed-in dashboard as stored: the hash of its random ID, never the ID, so a
// copy of the table lets nobody sign in.
type Session struct {
	IDHash    string `gorm:"primaryKey"`
	TokenID   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

func (Session) TableName() string { return "dashboard_sessions" }

// Sessions keeps the dashboard's sessions. A session lives only as long as the API token it
// was opened with: revoking the token ends it. It is safe for concurrent use.
type Sessions struct {
	db *database.DB
}

// NewSessions returns the session store of a migrated database.
func NewSessions(db *database.DB) *Sessions { return &Sessions{db: db} }

// Create opens a session for the token with the given ID, lasting life from now. It returns
// the session's random ID, for the browser's cookie, and its record; the ID is not kept.
func (s *Sessions) Create(ctx context.Context, tokenID string, now time.Time, life time.Duration) (string, Session, error) {
	id, idHash, err := keys.NewToken()
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	now = utc(now)
	row := Session{IDHash: idHash, TokenID: tokenID, CreatedAt: now, ExpiresAt: now.Add(life)}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return id, row, nil
}

// Token returns the live token that the session with the given ID, live at now, was opened
// with. The session is found by the hash of its ID. An unknown or expired session, or one
// whose token was revoked since, returns ErrUnauthorized.
func (s *Sessions) Token(ctx context.Context, id string, now time.Time) (Token, error) {
	if id == "" {
		return Token{}, ErrUnauthorized
	}
	var tok Token
	err := s.db.WithContext(ctx).Table("dashboard_sessions").
		Select("api_tokens.*").
		Joins("JOIN api_tokens ON api_tokens.id = dashboard_sessions.token_id").
		Where("dashboard_sessions.id_hash = ? AND dashboard_sessions.expires_at > ? AND api_tokens.revoked_at IS NULL",
			keys.HashToken(id), utc(now)).
		Take(&tok).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return Token{}, ErrUnauthorized
	case err != nil:
		return Token{}, fmt.Errorf("authenticate session: %w", err)
	}
	return tok.normalize(), nil
}

// Delete ends the session with the given ID. Ending one that does not exist is no error:
// the browser may present a cookie long after its session was purged.
func (s *Sessions) Delete(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Delete(&Session{}, "id_hash = ?", keys.HashToken(id)).Error; err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Purge deletes the sessions expired at now and those of revoked tokens, which could no
// longer sign anyone in, and returns how many it deleted.
func (s *Sessions) Purge(ctx context.Context, now time.Time) (int64, error) {
	revoked := s.db.Model(&Token{}).Select("id").Where("revoked_at IS NOT NULL")
	res := s.db.WithContext(ctx).Where("expires_at <= ? OR token_id IN (?)", utc(now), revoked).Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
