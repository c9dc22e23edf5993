// Package auth holds the bearer tokens of staff and auditors. A token is shown once, when it
// is created, and stored only as its hash, so the database never holds a usable credential.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/keys"
)

// Sentinel errors, so callers can map them to an answer with errors.Is.
var (
	// ErrUnauthorized is the one answer to an unknown, malformed or revoked token, so a
	// caller cannot tell which of these it presented.
	ErrUnauthorized = errors.New("unauthorized")
	ErrNotFound     = errors.New("not found")
)

// MaxNameLength bounds a token's name; the name is recorded as the actor of every action.
const MaxNameLength = 200

// Token is an API token as stored: its holder's name and role, never the token itself.
type Token struct {
	ID        string     `gorm:"primaryKey" json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	TokenHash string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func (Token) TableName() string { return "api_tokens" }

// Revoked reports whether the token no longer signs anyone in.
func (t Token) Revoked() bool { return t.RevokedAt != nil }

// Repo creates, checks and revokes tokens. It is safe for concurrent use.
type Repo struct {
	db *database.DB
}

// New returns a Repo on a migrated database.
func New(db *database.DB) *Repo { return &Repo{db: db} }

// Create makes a token for the named holder and returns it with its record. The token is
// random and is not kept: lose it and create another. A blank or over-long name or an
// unknown role returns an error wrapping ErrInvalid.
func (r *Repo) Create(ctx context.Context, name string, role Role) (string, Token, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", Token{}, fmt.Errorf("create token: a name is required: %w", ErrInvalid)
	case utf8.RuneCountInString(name) > MaxNameLength:
		return "", Token{}, fmt.Errorf("create token: the name is longer than %d characters: %w", MaxNameLength, ErrInvalid)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	secret, hash, err := keys.NewToken()
	if err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	t := Token{ID: uuid.NewString(), Name: name, Role: role, TokenHash: hash, CreatedAt: utc(time.Now())}
	if err := r.db.WithContext(ctx).Create(&t).Error; err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

// Authenticate returns the record of a live token. The token is found by its hash, so the
// lookup's timing says nothing about how close a guess came. An unknown or revoked token
// returns ErrUnauthorized.
func (r *Repo) Authenticate(ctx context.Context, token string) (Token, error) {
	if token == "" {
		return Token{}, ErrUnauthorized
	}
	var t Token
	err := r.db.WithContext(ctx).Take(&t, "token_hash = ?", keys.HashToken(token)).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Token{}, ErrUnauthorized
	}
	if err != nil {
		return Token{}, fmt.Errorf("authenticate token: %w", err)
	}
	if t.Revoked() {
		return Token{}, ErrUnauthorized
	}
	return t.normalize(), nil
}

// List returns every token, revoked ones included, oldest first.
func (r *Repo) List(ctx context.Context) ([]Token, error) {
	var ts []Token
	if err := r.db.WithContext(ctx).Order("created_at, id").Find(&ts).Error; err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	for i := range ts {
		ts[i] = ts[i].normalize()
	}
	return ts, nil
}

// Revoke stops the token with the given ID from signing anyone in. Revoking it again keeps
// the first revocation time; an unknown ID returns ErrNotFound.
func (r *Repo) Revoke(ctx context.Context, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return fmt.Errorf("revoke token: %w", ErrNotFound)
	}
	db := r.db.WithContext(ctx)
	res := db.Model(&Token{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", utc(time.Now()))
	if res.Error != nil {
		return fmt.Errorf("revoke token %s: %w", id, res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	var n int64
	if err := db.Model(&Token{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("revoke token %s: %w", id, ErrNotFound)
	}
	return nil
}

func (t Token) normalize() Token {
	t.CreatedAt = utc(t.CreatedAt)
	if t.RevokedAt != nil {
		v := utc(*t.RevokedAt)
		t.RevokedAt = &v
	}
	return t
}

// utc returns t as both engines keep it: UTC with microseconds.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
