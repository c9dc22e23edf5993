package requestdb

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// SearchByEmail is the kind of a staff search by an e-mail address.
const SearchByEmail = "email"

// StaffSearch records that a staff member looked requests up by a person's address: who,
// when and how, never the address or its hash. The table only takes appends.
type StaffSearch struct {
	ID      string `gorm:"primaryKey"`
	At      time.Time
	Actor   string
	ActorID string
	Role    string
	Kind    string
}

func (StaffSearch) TableName() string { return "staff_searches" }

// RecordSearch appends a search to the log, giving it an ID and time when it has none.
func (r *Repo) RecordSearch(ctx context.Context, s StaffSearch) error {
	if s.ID == "" {
		s.ID = uuid.NewString()
	}
	if s.At.IsZero() {
		s.At = time.Now()
	}
	s.At = utc(s.At)
	if err := r.db.WithContext(ctx).Create(&s).Error; err != nil {
		return fmt.Errorf("record staff search: %w", err)
	}
	return nil
}

// StaffSearches returns up to limit searches, newest first.
func (r *Repo) StaffSearches(ctx context.Context, limit int) ([]StaffSearch, error) {
	var out []StaffSearch
	if err := r.db.WithContext(ctx).Order("at DESC, id").Limit(pageSize(limit)).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("staff searches: %w", err)
	}
	for i := range out {
		out[i].At = utc(out[i].At)
	}
	return out, nil
}
