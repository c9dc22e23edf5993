package requestdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// MailRecord says that a notice went out. It keeps metadata only: bodies hold personal
// data and are not needed as evidence once the kind of notice is known.
type MailRecord struct {
	Key       string `gorm:"primaryKey"` // idempotency key of the send
	RequestID string
	Kind      string
	SentAt    time.Time
}

func (MailRecord) TableName() string { return "mail_log" }

// MailSent reports whether a notice with the idempotency key has been recorded, so a
// retried activity does not send it twice.
func (r *Repo) MailSent(ctx context.Context, key string) (bool, error) {
	var rec MailRecord
	err := r.db.WithContext(ctx).Take(&rec, "key = ?", key).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up mail log: %w", err)
	}
	return true, nil
}

// RecordMail logs a sent notice. Recording a key again does nothing and keeps the first
// record, since a retry may run after the mail went out.
func (r *Repo) RecordMail(ctx context.Context, rec MailRecord) error {
	rec.SentAt = utc(rec.SentAt)
	if err := r.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rec).Error; err != nil {
		return fmt.Errorf("record %s mail for request %s: %w", rec.Kind, rec.RequestID, err)
	}
	return nil
}

// MailLog returns the notices sent for a request, oldest first.
func (r *Repo) MailLog(ctx context.Context, requestID string) ([]MailRecord, error) {
	var recs []MailRecord
	err := r.db.WithContext(ctx).Where("request_id = ?", requestID).Order("sent_at, key").Find(&recs).Error
	if err != nil {
		return nil, fmt.Errorf("mail log of request %s: %w", requestID, err)
	}
	for i := range recs {
		recs[i].SentAt = utc(recs[i].SentAt)
	}
	return recs, nil
}
