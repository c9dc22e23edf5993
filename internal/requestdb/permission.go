package requestdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Permission is the signed permission an authorized agent sent with a request: a PDF or an
// image that may name and show the person, so it is only ever stored sealed.
type Permission struct {
	ContentType string
	Data        []byte
}

type agentPermission struct {
	RequestID   string `gorm:"primaryKey"`
	ContentType string
	KeyID       string
	Sealed      []byte
	Size        int64
	StoredAt    time.Time
}

func (agentPermission) TableName() string { return "agent_permissions" }

// permissionAD binds a sealed permission to its request, so a ciphertext copied to another
// request fails to open.
func permissionAD(requestID string) []byte {
	return []byte("agent-permission\x00" + requestID)
}

// SavePermission keeps a request's agent permission, sealed with the result key ring (see
// WithResultKeys). Saving again replaces it, so an intake that is retried stores one copy.
func (r *Repo) SavePermission(ctx context.Context, requestID string, p Permission) error {
	if r.resultKeys == nil {
		return fmt.Errorf("save permission for request %s: %w", requestID, ErrNoResultKeys)
	}
	keyID, sealed, err := r.resultKeys.Seal(p.Data, permissionAD(requestID))
	if err != nil {
		return fmt.Errorf("seal permission for request %s: %w", requestID, err)
	}
	row := agentPermission{RequestID: requestID, ContentType: p.ContentType, KeyID: keyID, Sealed: sealed, Size: int64(len(p.Data)), StoredAt: utc(time.Now())}
	err = r.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "request_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"content_type", "key_id", "sealed", "size", "stored_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save permission for request %s: %w", requestID, err)
	}
	return nil
}

// GetPermission returns a request's agent permission, opened, or ErrNotFound.
func (r *Repo) GetPermission(ctx context.Context, requestID string) (Permission, error) {
	var row agentPermission
	err := r.db.WithContext(ctx).Take(&row, "request_id = ?", requestID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Permission{}, fmt.Errorf("permission for request %s: %w", requestID, ErrNotFound)
	}
	if err != nil {
		return Permission{}, fmt.Errorf("permission for request %s: %w", requestID, err)
	}
	plain, err := r.resultKeys.Open(row.KeyID, row.Sealed, permissionAD(requestID))
	if err != nil {
		return Permission{}, fmt.Errorf("open permission for request %s: %w", requestID, err)
	}
	return Permission{ContentType: row.ContentType, Data: plain}, nil
}
