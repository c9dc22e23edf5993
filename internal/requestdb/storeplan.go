package requestdb

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/connector"
)

// storePlan is one system's change plan for a request, sealed like its result: a plan
// lists the keys of the person's rows.
type storePlan struct {
	RequestID string `gorm:"primaryKey"`
	Store     string `gorm:"primaryKey"`
	Plan      string // base64 of the sealed JSON
	KeyID     string
	SHA256    string `gorm:"column:sha256"`
	PlannedAt time.Time
}

func (storePlan) TableName() string { return "store_plans" }

// SealedPlan is a system's plan as dsr keeps it: the plan, the SHA-256 of its JSON (what
// the audit chain records) and when it was made.
type SealedPlan struct {
	Store     string               `json:"store"`
	Plan      connector.ChangePlan `json:"plan"`
	SHA256    string               `json:"sha256"`
	PlannedAt time.Time            `json:"planned_at"`
}

// PlanDigest is the SHA-256 of a plan's JSON, lower-case hex: the JSON is what is sealed,
// so anyone who opens the plan can recompute the digest the audit chain holds.
func PlanDigest(planJSON []byte) string {
	sum := sha256.Sum256(planJSON)
	return hex.EncodeToString(sum[:])
}

// planAD binds a sealed plan to its row, so a ciphertext copied to another request or
// store fails to open.
func planAD(requestID, store string) []byte {
	return []byte("store-plan\x00" + requestID + "\x00" + store)
}

// SaveStorePlan keeps a system's plan for a request, sealed, unless one is kept already,
// and returns the plan kept: a retry after a worker died applies against the plan made
// first, not a new one.
func (r *Repo) SaveStorePlan(ctx context.Context, requestID, store string, p connector.ChangePlan) (SealedPlan, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return SealedPlan{}, fmt.Errorf("encode plan of %s: %w", store, err)
	}
	if r.resultKeys == nil {
		return SealedPlan{}, fmt.Errorf("save plan of %s for request %s: %w", store, requestID, ErrNoResultKeys)
	}
	keyID, sealed, err := r.resultKeys.Seal(raw, planAD(requestID, store))
	if err != nil {
		return SealedPlan{}, fmt.Errorf("seal plan of %s for request %s: %w", store, requestID, err)
	}
	row := storePlan{RequestID: requestID, Store: store, Plan: base64.StdEncoding.EncodeToString(sealed), KeyID: keyID,
		SHA256: PlanDigest(raw), PlannedAt: utc(time.Now())}
	err = r.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
	if err != nil {
		return SealedPlan{}, fmt.Errorf("save plan of %s for request %s: %w", store, requestID, err)
	}
	kept, found, err := r.StorePlan(ctx, requestID, store)
	switch {
	case err != nil:
		return SealedPlan{}, err
	case !found:
		return SealedPlan{}, fmt.Errorf("save plan of %s for request %s: the plan is gone", store, requestID)
	}
	return kept, nil
}

// StorePlan returns a system's kept plan for a request, opened, and whether there is one.
func (r *Repo) StorePlan(ctx context.Context, requestID, store string) (SealedPlan, bool, error) {
	var rows []storePlan
	if err := r.db.WithContext(ctx).Where("request_id = ? AND store = ?", requestID, store).Limit(1).Find(&rows).Error; err != nil {
		return SealedPlan{}, false, fmt.Errorf("plan of %s for request %s: %w", store, requestID, err)
	}
	if len(rows) == 0 {
		return SealedPlan{}, false, nil
	}
	p, err := r.openPlan(rows[0])
	return p, err == nil, err
}

// StorePlans returns every kept plan of a request, by store name, opened.
func (r *Repo) StorePlans(ctx context.Context, requestID string) ([]SealedPlan, error) {
	var rows []storePlan
	if err := r.db.WithContext(ctx).Where("request_id = ?", requestID).Order("store").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("plans of request %s: %w", requestID, err)
	}
	out := make([]SealedPlan, len(rows))
	for i, row := range rows {
		p, err := r.openPlan(row)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// DropStorePlan forgets a system's plan for a request, one the rows no longer matched, so
// that the next run plans afresh. The audit chain keeps the dropped plan's digest.
func (r *Repo) DropStorePlan(ctx context.Context, requestID, store string) error {
	if err := r.db.WithContext(ctx).Where("request_id = ? AND store = ?", requestID, store).Delete(&storePlan{}).Error; err != nil {
		return fmt.Errorf("drop plan of %s for request %s: %w", store, requestID, err)
	}
	return nil
}

func (r *Repo) openPlan(row storePlan) (SealedPlan, error) {
	if r.resultKeys == nil {
		return SealedPlan{}, fmt.Errorf("open plan of %s for request %s: %w", row.Store, row.RequestID, ErrNoResultKeys)
	}
	sealed, err := base64.StdEncoding.DecodeString(row.Plan)
	if err != nil {
		return SealedPlan{}, fmt.Errorf("plan of %s for request %s is not base64", row.Store, row.RequestID)
	}
	raw, err := r.resultKeys.Open(row.KeyID, sealed, planAD(row.RequestID, row.Store))
	if err != nil {
		return SealedPlan{}, fmt.Errorf("open plan of %s for request %s: %w", row.Store, row.RequestID, err)
	}
	if PlanDigest(raw) != row.SHA256 {
		return SealedPlan{}, fmt.Errorf("plan of %s for request %s does not match its digest", row.Store, row.RequestID)
	}
	out := SealedPlan{Store: row.Store, SHA256: row.SHA256, PlannedAt: utc(row.PlannedAt)}
	if err := json.Unmarshal(raw, &out.Plan); err != nil {
		return SealedPlan{}, fmt.Errorf("decode plan of %s for request %s: %w", row.Store, row.RequestID, err)
	}
	return out, nil
}
