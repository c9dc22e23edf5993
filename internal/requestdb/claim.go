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

// claim marks the one open request for a verified address and request type.
type claim struct {
	EmailHash string             `gorm:"primaryKey"`
	Type      domain.RequestType `gorm:"primaryKey"`
	RequestID string
	ClaimedAt time.Time
}

func (claim) TableName() string { return "request_claims" }

// claimAttempts bounds how often Claim retries when the holder releases its claim between
// our insert and our read.
const claimAttempts = 5

// Claim makes requestID the open request for the address hash and type, unless another
// request already is, and returns the holder: requestID itself when it won or had already
// claimed (a retry), otherwise the other request's ID. The table's primary key decides
// between concurrent claimants, so exactly one of them wins.
func (r *Repo) Claim(ctx context.Context, emailHash string, t domain.RequestType, requestID string) (string, error) {
	db := r.db.WithContext(ctx)
	for range claimAttempts {
		row := claim{EmailHash: emailHash, Type: t, RequestID: requestID, ClaimedAt: utc(time.Now())}
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return "", fmt.Errorf("claim %s for request %s: %w", t, requestID, err)
		}
		var held claim
		err := db.Take(&held, "email_hash = ? AND type = ?", emailHash, t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue // released after our insert lost; try again
		}
		if err != nil {
			return "", fmt.Errorf("read %s claim for request %s: %w", t, requestID, err)
		}
		return held.RequestID, nil
	}
	return "", fmt.Errorf("claim %s for request %s: the claim kept changing hands", t, requestID)
}

// ReleaseClaim frees whatever the request holds, so a later request for the same address
// and type can open. Releasing twice, or without a claim, is no error.
func (r *Repo) ReleaseClaim(ctx context.Context, requestID string) error {
	return releaseClaim(r.db.WithContext(ctx), requestID)
}

func releaseClaim(tx *gorm.DB, requestID string) error {
	if err := tx.Where("request_id = ?", requestID).Delete(&claim{}).Error; err != nil {
		return fmt.Errorf("release claims of request %s: %w", requestID, err)
	}
	return nil
}
