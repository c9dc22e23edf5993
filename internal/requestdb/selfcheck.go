package requestdb

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// SelfCheck is one run of the self-check workflow, which proves a worker can write here.
type SelfCheck struct {
	ID         string `gorm:"primaryKey"`
	StartedAt  time.Time
	RecordedAt time.Time
	Worker     string // the process that recorded it; never PII
}

func (SelfCheck) TableName() string { return "self_checks" }

// RecordSelfCheck stores the run unless one with its ID is stored, and returns the stored
// one, so that a retry learns which worker recorded it first and leaves exactly one row.
func (r *Repo) RecordSelfCheck(ctx context.Context, c SelfCheck) (SelfCheck, error) {
	c.StartedAt, c.RecordedAt = utc(c.StartedAt), utc(c.RecordedAt)
	db := r.db.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&c).Error; err != nil {
		return SelfCheck{}, fmt.Errorf("record self-check: %w", err)
	}
	var stored SelfCheck
	if err := db.Take(&stored, "id = ?", c.ID).Error; err != nil {
		return SelfCheck{}, fmt.Errorf("read self-check: %w", err)
	}
	stored.StartedAt, stored.RecordedAt = utc(stored.StartedAt), utc(stored.RecordedAt)
	return stored, nil
}
