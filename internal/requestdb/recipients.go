package requestdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// RecipientNoticeRecord is what became of the notice to one recipient of a request's data:
// how it went, its status and the recipient's answer (for a webhook, the HTTP status and
// acknowledgement). It holds no personal data.
type RecipientNoticeRecord struct {
	RequestID string `gorm:"primaryKey"`
	Recipient string `gorm:"primaryKey"`
	Channel   string
	Status    string
	Answer    string
	SentAt    time.Time
}

func (RecipientNoticeRecord) TableName() string { return "recipient_notices" }

// Outcome is the notice as the status view and the completion mail show it: its status and
// the recipient's answer.
func (rec RecipientNoticeRecord) Outcome() string {
	if rec.Answer == "" {
		return rec.Status
	}
	return rec.Status + ": " + rec.Answer
}

// Told is the notice as the requester sees it: "sent" or "not_sent".
func (rec RecipientNoticeRecord) Told() string {
	if rec.Status == "sent" {
		return "sent"
	}
	return "not_sent"
}

// RecipientNotice returns the recorded notice to a recipient, or nil when none went out.
func (r *Repo) RecipientNotice(ctx context.Context, requestID, recipient string) (*RecipientNoticeRecord, error) {
	var rec RecipientNoticeRecord
	err := r.db.WithContext(ctx).Take(&rec, "request_id = ? AND recipient = ?", requestID, recipient).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up recipient notice of request %s: %w", requestID, err)
	}
	rec.SentAt = utc(rec.SentAt)
	return &rec, nil
}

// RecordRecipientNotice keeps a notice's outcome. The first record stays: a retry that
// runs after the notice went out must not overwrite the answer it got.
func (r *Repo) RecordRecipientNotice(ctx context.Context, rec RecipientNoticeRecord) error {
	rec.SentAt = utc(rec.SentAt)
	if err := r.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rec).Error; err != nil {
		return fmt.Errorf("record recipient notice of request %s: %w", rec.RequestID, err)
	}
	return nil
}

// RecipientNotices returns every recorded recipient notice of a request, by recipient.
func (r *Repo) RecipientNotices(ctx context.Context, requestID string) ([]RecipientNoticeRecord, error) {
	var recs []RecipientNoticeRecord
	if err := r.db.WithContext(ctx).Where("request_id = ?", requestID).Order("recipient").Find(&recs).Error; err != nil {
		return nil, fmt.Errorf("recipient notices of request %s: %w", requestID, err)
	}
	for i := range recs {
		recs[i].SentAt = utc(recs[i].SentAt)
	}
	return recs, nil
}
