package requestdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/domain"
)

// Appeal is a person's appeal of a refused request, as the application stores it. Text is
// the person's words (PII); RefusedByID and DecidedByID are staff token IDs.
type Appeal struct {
	RequestID       string              `gorm:"primaryKey" json:"request_id"`
	Status          domain.AppealStatus `json:"status"`
	Text            string              `json:"text"`
	ReceivedAt      time.Time           `json:"received_at"`
	DueAt           time.Time           `json:"due_at"`
	OriginalDueAt   time.Time           `json:"original_due_at"`
	ExtendedAt      *time.Time          `json:"extended_at,omitempty"`
	ExtensionReason string              `json:"extension_reason,omitempty"`
	RefusedBy       string              `json:"refused_by,omitempty"`
	RefusedByID     string              `json:"refused_by_id,omitempty"`
	DecidedBy       string              `json:"decided_by,omitempty"`
	DecidedByID     string              `json:"decided_by_id,omitempty"`
	DecidedAt       *time.Time          `json:"decided_at,omitempty"`
	DecisionReason  string              `json:"decision_reason,omitempty"`
	Overdue         bool                `json:"overdue"`
	StepSeq         int64               `json:"-"`
}

func (Appeal) TableName() string { return "appeals" }

func (ap *Appeal) normalize() {
	ap.ReceivedAt, ap.DueAt, ap.OriginalDueAt = utc(ap.ReceivedAt), utc(ap.DueAt), utc(ap.OriginalDueAt)
	ap.ExtendedAt, ap.DecidedAt = utcPtr(ap.ExtendedAt), utcPtr(ap.DecidedAt)
}

// CreateAppeal stores a request's appeal. A request has at most one: a second returns
// ErrConflict, and an unknown request ErrNotFound.
func (r *Repo) CreateAppeal(ctx context.Context, ap *Appeal) error {
	ap.normalize()
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Request{}).Where("id = ?", ap.RequestID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(ap)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrConflict
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create appeal of request %s: %w", ap.RequestID, err)
	}
	return nil
}

// GetAppeal returns the request's appeal, or ErrNotFound when it has none.
func (r *Repo) GetAppeal(ctx context.Context, requestID string) (*Appeal, error) {
	var ap Appeal
	err := r.db.WithContext(ctx).Take(&ap, "request_id = ?", requestID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("appeal of request %s: %w", requestID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("appeal of request %s: %w", requestID, err)
	}
	ap.normalize()
	return &ap, nil
}

// ListAppeals returns the appeals in the given status, or all when status is empty, those
// due first first.
func (r *Repo) ListAppeals(ctx context.Context, status domain.AppealStatus) ([]Appeal, error) {
	q := r.db.WithContext(ctx).Order("due_at, request_id")
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []Appeal
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list appeals: %w", err)
	}
	for i := range out {
		out[i].normalize()
	}
	return out, nil
}

// AppealPatch lists the appeal fields a step changes; a nil field is left as it is.
type AppealPatch struct {
	Status          *domain.AppealStatus
	DueAt           *time.Time
	ExtendedAt      *time.Time
	ExtensionReason *string
	DecidedBy       *string
	DecidedByID     *string
	DecidedAt       *time.Time
	DecisionReason  *string
	Overdue         *bool
}

func (p AppealPatch) columns(seq int64) map[string]any {
	cols := map[string]any{"step_seq": seq}
	if p.Status != nil {
		cols["status"] = *p.Status
	}
	for name, t := range map[string]*time.Time{"due_at": p.DueAt, "extended_at": p.ExtendedAt, "decided_at": p.DecidedAt} {
		if t != nil {
			cols[name] = utc(*t)
		}
	}
	for name, v := range map[string]*string{"extension_reason": p.ExtensionReason, "decided_by": p.DecidedBy,
		"decided_by_id": p.DecidedByID, "decision_reason": p.DecisionReason} {
		if v != nil {
			cols[name] = *v
		}
	}
	if p.Overdue != nil {
		cols["overdue"] = *p.Overdue
	}
	return cols
}

// AppealStep is one step of an appeal's workflow: the audit event that records it on the
// request's trail and the change it makes to the appeal. Seq is the event's place on the
// request's trail, above any the request's own workflow takes.
type AppealStep struct {
	RequestID string
	Seq       int64
	Event     AuditEvent
	Patch     AppealPatch
}

// ApplyAppealStep records the step's event and applies its patch in one transaction, as
// ApplyStep does for requests: a retried step stores no second event and changes nothing.
// It reports whether this call stored the event.
func (r *Repo) ApplyAppealStep(ctx context.Context, s AppealStep) (bool, error) {
	ev := s.Event
	ev.ID, ev.RequestID, ev.Seq = fmt.Sprintf("%s:%d", s.RequestID, s.Seq), s.RequestID, s.Seq
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	ev.At = utc(ev.At)
	var stored bool
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var target []stepTarget
		if err := tx.Model(&Request{}).Select("type", "received_at", "email_hash", "due_at").Where("id = ?", s.RequestID).Limit(1).Find(&target).Error; err != nil {
			return err
		}
		var ap []Appeal
		if err := tx.Where("request_id = ?", s.RequestID).Limit(1).Find(&ap).Error; err != nil {
			return err
		}
		if len(target) == 0 || len(ap) == 0 {
			return ErrNotFound
		}
		var err error
		if stored, err = r.appendEvent(tx, ev); err != nil {
			return err
		}
		if stored {
			due := ap[0].DueAt
			if s.Patch.DueAt != nil {
				due = *s.Patch.DueAt
			}
			if err := r.logMilestone(tx, ev, target[0], due); err != nil {
				return err
			}
		}
		return tx.Model(&Appeal{}).Where("request_id = ? AND step_seq < ?", s.RequestID, s.Seq).
			Updates(s.Patch.columns(s.Seq)).Error
	})
	if err != nil {
		return false, fmt.Errorf("apply appeal step %d to request %s: %w", s.Seq, s.RequestID, err)
	}
	return stored, nil
}
