package requestdb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/connector"
)

type storeResult struct {
	RequestID  string `gorm:"primaryKey"`
	Store      string `gorm:"primaryKey"`
	Result     string
	RecordedAt time.Time
}

func (storeResult) TableName() string { return "store_results" }

// SaveStoreResult keeps one system's result for a request. A rerun of the system (a staff
// retry) replaces the earlier result.
func (r *Repo) SaveStoreResult(ctx context.Context, requestID, store string, res connector.Result) error {
	raw, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result of %s: %w", store, err)
	}
	row := storeResult{RequestID: requestID, Store: store, Result: string(raw), RecordedAt: utc(time.Now())}
	err = r.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "request_id"}, {Name: "store"}},
		DoUpdates: clause.AssignmentColumns([]string{"result", "recorded_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save result of %s for request %s: %w", store, requestID, err)
	}
	return nil
}

// StoreResults returns every system's result for a request, by store name.
func (r *Repo) StoreResults(ctx context.Context, requestID string) ([]connector.Result, error) {
	var rows []storeResult
	if err := r.db.WithContext(ctx).Where("request_id = ?", requestID).Order("store").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store results of request %s: %w", requestID, err)
	}
	out := make([]connector.Result, len(rows))
	for i, row := range rows {
		if err := json.Unmarshal([]byte(row.Result), &out[i]); err != nil {
			return nil, fmt.Errorf("decode result of %s for request %s: %w", row.Store, requestID, err)
		}
	}
	return out, nil
}
