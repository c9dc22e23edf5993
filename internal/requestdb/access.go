package requestdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/config"
)

// accessSeqBase numbers the events that record staff reading a request's personal data,
// far past every step its workflow and its retention purges (from 1<<40) can number.
const accessSeqBase = 1 << 50

// ActionAccessed is the audit action of a staff member reading a request's personal data.
const ActionAccessed = "requester_details_viewed"

// RecordAccess appends an ActionAccessed event by actor with role, whose details (JSON
// text) say where the data was shown. The event joins the audit chain like any step, but
// leaves the request's row alone, so the workflow's steps still apply to it. It returns
// ErrNotFound when the request does not exist.
func (r *Repo) RecordAccess(ctx context.Context, requestID, actor, role, details string) error {
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var found []Request
		if err := tx.Select("id", "status").Where("id = ?", requestID).Limit(1).Find(&found).Error; err != nil {
			return err
		}
		if len(found) == 0 {
			return ErrNotFound
		}
		// The chain head's lock makes concurrent readers of one request take turns, so each
		// gets the next number; appendEvent takes it again, which a transaction allows.
		head := tx.Model(&chainHead{}).Where("id = 1")
		if r.db.Kind == config.Postgres {
			head = head.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := head.Take(&chainHead{}).Error; err != nil {
			return fmt.Errorf("lock audit chain head: %w", err)
		}
		var last []int64
		err := tx.Model(&AuditEvent{}).Where("request_id = ? AND seq > ?", requestID, int64(accessSeqBase)).
			Order("seq DESC").Limit(1).Pluck("seq", &last).Error
		if err != nil {
			return err
		}
		seq := int64(accessSeqBase) + 1
		if len(last) == 1 {
			seq = last[0] + 1
		}
		status := string(found[0].Status)
		_, err = r.appendEvent(tx, AuditEvent{
			ID: fmt.Sprintf("%s:%d", requestID, seq), RequestID: requestID, Seq: seq, At: utc(time.Now()),
			Actor: actor, Role: role, Action: ActionAccessed, FromStatus: status, ToStatus: status, Details: details,
		})
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("record access to request %s: %w", requestID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("record access to request %s: %w", requestID, err)
	}
	return nil
}
