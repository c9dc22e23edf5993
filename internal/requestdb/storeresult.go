package requestdb

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/connector"
)

// ErrNoResultKeys is what saving a store result returns on a Repo made without
// WithResultKeys: results hold personal data and are never written in clear.
var ErrNoResultKeys = errors.New("no key ring to seal store results with")

type storeResult struct {
	RequestID  string `gorm:"primaryKey"`
	Store      string `gorm:"primaryKey"`
	Result     string // base64 of the sealed JSON; JSON in clear when KeyID is empty; "" until done
	KeyID      string
	State      StoreState
	Error      string // why the system failed, by contract without personal data
	RecordedAt time.Time
}

// StoreState is how far one system has got with a request.
type StoreState string

// A system runs, may wait for an answer that comes later, and ends done or failed; staff
// may retry a failed one.
const (
	StoreRunning StoreState = "running"
	StorePending StoreState = "pending"
	StoreFailed  StoreState = "failed"
	StoreDone    StoreState = "done"
)

// StoreProgress is one system's state for a request, without its result, and when it
// reached it.
type StoreProgress struct {
	Store      string
	State      StoreState
	Error      string
	RecordedAt time.Time
}

func (storeResult) TableName() string { return "store_results" }

// WithResultKeys returns a Repo that seals store results with ring: the current key seals,
// every key opens, so the codec keys rotate as they do for Temporal's payloads.
func (r *Repo) WithResultKeys(ring *codec.Keyring) *Repo {
	out := *r
	out.resultKeys = ring
	return &out
}

// resultAD binds a sealed result to its row, so a ciphertext copied to another request or
// store fails to open.
func resultAD(requestID, store string) []byte {
	return []byte("store-result\x00" + requestID + "\x00" + store)
}

func (r *Repo) sealResult(requestID, store string, res connector.Result) (storeResult, error) {
	raw, err := json.Marshal(res)
	if err != nil {
		return storeResult{}, fmt.Errorf("encode result of %s: %w", store, err)
	}
	if r.resultKeys == nil {
		return storeResult{}, fmt.Errorf("save result of %s for request %s: %w", store, requestID, ErrNoResultKeys)
	}
	keyID, sealed, err := r.resultKeys.Seal(raw, resultAD(requestID, store))
	if err != nil {
		return storeResult{}, fmt.Errorf("seal result of %s for request %s: %w", store, requestID, err)
	}
	return storeResult{RequestID: requestID, Store: store, Result: base64.StdEncoding.EncodeToString(sealed), KeyID: keyID, State: StoreDone}, nil
}

func (r *Repo) openResult(row storeResult) (connector.Result, error) {
	raw := []byte(row.Result)
	if row.KeyID != "" {
		sealed, err := base64.StdEncoding.DecodeString(row.Result)
		if err != nil {
			return connector.Result{}, fmt.Errorf("result of %s for request %s is not base64", row.Store, row.RequestID)
		}
		if raw, err = r.resultKeys.Open(row.KeyID, sealed, resultAD(row.RequestID, row.Store)); err != nil {
			return connector.Result{}, fmt.Errorf("open result of %s for request %s: %w", row.Store, row.RequestID, err)
		}
	}
	var out connector.Result
	if err := json.Unmarshal(raw, &out); err != nil {
		return connector.Result{}, fmt.Errorf("decode result of %s for request %s: %w", row.Store, row.RequestID, err)
	}
	return out, nil
}

// SaveStoreResult keeps one system's result for a request, sealed. A rerun of the system
// (a staff retry) replaces the earlier result.
func (r *Repo) SaveStoreResult(ctx context.Context, requestID, store string, res connector.Result) error {
	row, err := r.sealResult(requestID, store, res)
	if err != nil {
		return err
	}
	row.RecordedAt = utc(time.Now())
	err = r.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "request_id"}, {Name: "store"}},
		DoUpdates: clause.AssignmentColumns([]string{"result", "key_id", "state", "error", "recorded_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save result of %s for request %s: %w", store, requestID, err)
	}
	return nil
}

// StoreResults returns every system's result for a request, by store name, opened. Rows
// written in clear before results were sealed read as they are.
func (r *Repo) StoreResults(ctx context.Context, requestID string) ([]connector.Result, error) {
	var rows []storeResult
	err := r.db.WithContext(ctx).Where("request_id = ? AND state = ?", requestID, StoreDone).Order("store").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store results of request %s: %w", requestID, err)
	}
	out := make([]connector.Result, len(rows))
	for i, row := range rows {
		res, err := r.openResult(row)
		if err != nil {
			return nil, err
		}
		out[i] = res
	}
	return out, nil
}

// SealStoreResults seals the results written in clear before sealing existed and returns
// how many it sealed. Each row is sealed only if it is still in clear, so processes may
// run it at the same time.
func (r *Repo) SealStoreResults(ctx context.Context) (int, error) {
	var rows []storeResult
	if err := r.db.WithContext(ctx).Where("key_id = '' AND state = ?", StoreDone).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("find store results in clear: %w", err)
	}
	sealed := 0
	for _, row := range rows {
		res, err := r.openResult(row)
		if err != nil {
			return sealed, err
		}
		next, err := r.sealResult(row.RequestID, row.Store, res)
		if err != nil {
			return sealed, err
		}
		done := r.db.WithContext(ctx).Model(&storeResult{}).
			Where("request_id = ? AND store = ? AND key_id = ''", row.RequestID, row.Store).
			Updates(map[string]any{"result": next.Result, "key_id": next.KeyID})
		if done.Error != nil {
			return sealed, fmt.Errorf("seal result of %s for request %s: %w", row.Store, row.RequestID, done.Error)
		}
		sealed += int(done.RowsAffected)
	}
	return sealed, nil
}

// StartStores records that a request fans out to these systems, each running until it
// reports. A repeat leaves systems that already reported as they are.
func (r *Repo) StartStores(ctx context.Context, requestID string, stores []string) error {
	if len(stores) == 0 {
		return nil
	}
	now := utc(time.Now())
	rows := make([]storeResult, len(stores))
	for i, s := range stores {
		rows[i] = storeResult{RequestID: requestID, Store: s, State: StoreRunning, RecordedAt: now}
	}
	if err := r.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("start stores of request %s: %w", requestID, err)
	}
	return nil
}

// MarkStorePending records that a system will answer later, unless it already has.
func (r *Repo) MarkStorePending(ctx context.Context, requestID, store string) error {
	return r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return setStoreState(tx, requestID, store, StorePending, "")
	})
}

// markFailed marks systems failed with their errors, except those already done.
func markFailed(tx *gorm.DB, requestID string, failed map[string]string) error {
	for _, store := range slices.Sorted(maps.Keys(failed)) {
		if err := setStoreState(tx, requestID, store, StoreFailed, failed[store]); err != nil {
			return err
		}
	}
	return nil
}

// setStoreState moves a system that has not finished to state; a done system stays done,
// since a late or repeated report must not hide a result.
func setStoreState(tx *gorm.DB, requestID, store string, state StoreState, msg string) error {
	row := storeResult{RequestID: requestID, Store: store, State: state, Error: msg, RecordedAt: utc(time.Now())}
	err := tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "request_id"}, {Name: "store"}},
		DoUpdates: clause.AssignmentColumns([]string{"state", "error", "recorded_at"}),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Neq{Column: clause.Column{Table: "store_results", Name: "state"}, Value: StoreDone}}},
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("mark %s %s for request %s: %w", store, state, requestID, err)
	}
	return nil
}

// StoreProgressOf returns each system's state for a request, by store name.
func (r *Repo) StoreProgressOf(ctx context.Context, requestID string) ([]StoreProgress, error) {
	var out []StoreProgress
	err := r.db.WithContext(ctx).Model(&storeResult{}).Select("store", "state", "error", "recorded_at").
		Where("request_id = ?", requestID).Order("store").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store progress of request %s: %w", requestID, err)
	}
	for i := range out {
		out[i].RecordedAt = utc(out[i].RecordedAt)
	}
	return out, nil
}
