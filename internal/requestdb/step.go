package requestdb

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/domain"
)

// AuditEvent records who did what to a request. Events are append-only.
type AuditEvent struct {
	ID         string `gorm:"primaryKey"`
	RequestID  string
	Seq        int64
	At         time.Time
	Actor      string
	Role       string
	Action     string
	FromStatus string
	ToStatus   string
	Details    string // JSON text
}

func (AuditEvent) TableName() string { return "audit_events" }

// Patch lists the request fields a step changes; a nil field is left as it is.
type Patch struct {
	Status          *domain.Status
	DueAt           *time.Time
	ExtendedAt      *time.Time
	ExtensionReason *string
	Assignee        *string
	StatusReason    *string
	Outcome         *string
	JoinedTo        *string
	CompletedAt     *time.Time
}

// Step is one workflow step: the event that records it and the change it makes. Seq counts
// the request's steps from 1 and is what makes a step idempotent.
type Step struct {
	RequestID string
	Seq       int64
	Event     AuditEvent
	Patch     Patch
}

// ApplyStep records the step's event and applies its patch in one transaction. Activities
// are retried and may run late, so a step the request has already passed changes nothing:
// the event's ID is derived from (RequestID, Seq) and the patch only applies while the
// request's StepSeq is lower than Seq. It returns ErrNotFound when the request does not exist.
func (r *Repo) ApplyStep(ctx context.Context, s Step) error {
	if s.Seq < 1 {
		return fmt.Errorf("apply step %d to request %s: seq must be positive", s.Seq, s.RequestID)
	}
	ev := s.Event
	ev.ID, ev.RequestID, ev.Seq = fmt.Sprintf("%s:%d", s.RequestID, s.Seq), s.RequestID, s.Seq
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	ev.At = utc(ev.At)
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var found []string
		if err := tx.Model(&Request{}).Where("id = ?", s.RequestID).Limit(1).Pluck("id", &found).Error; err != nil {
			return err
		}
		if len(found) == 0 {
			return ErrNotFound
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ev).Error; err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		err := tx.Model(&Request{}).Where("id = ? AND step_seq < ?", s.RequestID, s.Seq).
			Updates(s.Patch.columns(s.Seq)).Error
		if err != nil {
			return fmt.Errorf("update request: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply step %d to request %s: %w", s.Seq, s.RequestID, err)
	}
	return nil
}

// columns returns the assignments for the patch plus the step bookkeeping.
func (p Patch) columns(seq int64) map[string]any {
	cols := map[string]any{"step_seq": seq, "updated_at": utc(time.Now())}
	if p.Status != nil {
		cols["status"] = *p.Status
	}
	for name, t := range map[string]*time.Time{"due_at": p.DueAt, "extended_at": p.ExtendedAt, "completed_at": p.CompletedAt} {
		if t != nil {
			cols[name] = utc(*t)
		}
	}
	for name, v := range map[string]*string{
		"extension_reason": p.ExtensionReason, "assignee": p.Assignee,
		"status_reason": p.StatusReason, "outcome": p.Outcome, "joined_to": p.JoinedTo,
	} {
		if v != nil {
			cols[name] = *v
		}
	}
	return cols
}

// AuditEvents returns the request's events in step order.
func (r *Repo) AuditEvents(ctx context.Context, requestID string) ([]AuditEvent, error) {
	var events []AuditEvent
	err := r.db.WithContext(ctx).Where("request_id = ?", requestID).Order("seq").Find(&events).Error
	if err != nil {
		return nil, fmt.Errorf("audit events of request %s: %w", requestID, err)
	}
	for i := range events {
		events[i].At = utc(events[i].At)
	}
	return events, nil
}
