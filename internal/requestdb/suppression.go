package requestdb

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

type suppressed struct {
	EmailHash string `gorm:"primaryKey"`
	RequestID string
	AddedAt   time.Time
}

func (suppressed) TableName() string { return "suppression_list" }

// Suppress puts an address's keyed hash on the suppression list; the first request that put
// it there stays recorded.
func (r *Repo) Suppress(ctx context.Context, emailHash, requestID string) error {
	return suppress(r.db.WithContext(ctx), emailHash, requestID)
}

func suppress(tx *gorm.DB, emailHash, requestID string) error {
	row := suppressed{EmailHash: emailHash, RequestID: requestID, AddedAt: utc(time.Now())}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("suppression list: %w", err)
	}
	return nil
}

// Suppressed returns which of the keyed hashes are on the suppression list.
func (r *Repo) Suppressed(ctx context.Context, emailHashes []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(emailHashes); start += 500 {
		batch := emailHashes[start:min(start+500, len(emailHashes))]
		var found []string
		if err := r.db.WithContext(ctx).Model(&suppressed{}).Where("email_hash IN ?", batch).Pluck("email_hash", &found).Error; err != nil {
			return nil, fmt.Errorf("suppression list: %w", err)
		}
		for _, h := range found {
			out[h] = true
		}
	}
	return out, nil
}
