package activities

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// RecordSelfCheckInput names the self-check run to record.
type RecordSelfCheckInput struct {
	CheckID   string
	StartedAt time.Time
}

// RecordSelfCheckResult tells which worker recorded the run.
type RecordSelfCheckResult struct {
	Worker string
}

type selfCheck struct {
	ID         string `gorm:"primaryKey"`
	StartedAt  time.Time
	RecordedAt time.Time
	Worker     string
}

func (selfCheck) TableName() string { return "self_checks" }

// RecordSelfCheck writes one row per self-check run. The check ID is the primary key and a
// second insert of it does nothing, so a retried activity leaves exactly one row.
func (a *Activities) RecordSelfCheck(ctx context.Context, in RecordSelfCheckInput) (RecordSelfCheckResult, error) {
	row := selfCheck{ID: in.CheckID, StartedAt: in.StartedAt.UTC(), RecordedAt: time.Now().UTC(), Worker: a.Worker}
	err := a.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
	if err != nil {
		return RecordSelfCheckResult{}, fmt.Errorf("record self-check: %w", err)
	}
	var stored selfCheck
	if err := a.DB.WithContext(ctx).First(&stored, "id = ?", in.CheckID).Error; err != nil {
		return RecordSelfCheckResult{}, fmt.Errorf("read self-check: %w", err)
	}
	return RecordSelfCheckResult{Worker: stored.Worker}, nil
}
