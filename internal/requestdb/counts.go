package requestdb

import (
	"context"
	"fmt"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
)

// StatusCount is how many requests of one type are in one status.
type StatusCount struct {
	Type   domain.RequestType
	Status domain.Status
	Count  int64
	// Overdue counts those that were due before the instant asked about; always zero for
	// a terminal status, whose requests are answered however late.
	Overdue int64
}

// CountByStatus counts every request by type and status, and the open ones due before now,
// in one grouped pass so that both figures describe one moment. Types and statuses with no
// request are left out.
func (r *Repo) CountByStatus(ctx context.Context, now time.Time) ([]StatusCount, error) {
	var rows []StatusCount
	err := r.db.WithContext(ctx).Raw(
		`SELECT type, status, COUNT(*) AS count, SUM(CASE WHEN due_at < ? THEN 1 ELSE 0 END) AS overdue
		 FROM requests GROUP BY type, status`, now.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count requests by status: %w", err)
	}
	for i := range rows {
		if rows[i].Status.Terminal() {
			rows[i].Overdue = 0
		}
	}
	return rows, nil
}

// CountStatuses counts the requests that match f by status, in one grouped query, for the
// queue's tabs; f's own Statuses are ignored, so every tab counts under the other filters.
// Statuses with no request are left out.
func (r *Repo) CountStatuses(ctx context.Context, f RequestFilter) (map[domain.Status]int64, error) {
	f.Statuses = nil
	var rows []struct {
		Status domain.Status
		Count  int64
	}
	err := f.apply(r.db.WithContext(ctx).Model(&Request{})).Select("status, COUNT(*) AS count").Group("status").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count requests by status: %w", err)
	}
	out := make(map[domain.Status]int64, len(rows))
	for _, row := range rows {
		out[row.Status] = row.Count
	}
	return out, nil
}
