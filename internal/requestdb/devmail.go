package requestdb

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
)

// MaxDevMailList caps how many messages one List returns.
const MaxDevMailList = 200

// DevMail is one message in the dev mailbox.
type DevMail struct {
	ID      string    `gorm:"primaryKey" json:"id"`
	ToAddr  string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `gorm:"column:html" json:"html,omitempty"`
	SentAt  time.Time `json:"sent_at"`
}

func (DevMail) TableName() string { return "dev_mail" }

// DevMailbox is the mail.Sender of `dsr dev`: it stores messages where the developer can
// read them instead of needing an SMTP server.
type DevMailbox struct {
	db *database.DB
}

var _ mail.Sender = (*DevMailbox)(nil)

// NewDevMailbox returns a mailbox on a migrated database.
func NewDevMailbox(db *database.DB) *DevMailbox { return &DevMailbox{db: db} }

// Send stores m. The recipient is stored trimmed and lower-cased, as domain.NormalizeEmail
// would, so that the index serves List's case-insensitive lookup. A storage failure is not
// a *mail.SendError, so mail.IsPermanent reports it as worth retrying.
func (b *DevMailbox) Send(ctx context.Context, m mail.Message) error {
	row := DevMail{
		ID: uuid.NewString(), ToAddr: normalizeAddr(m.To), Subject: m.Subject,
		Text: m.Text, HTML: m.HTML, SentAt: utc(time.Now()),
	}
	if err := b.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("dev mailbox: store message: %w", err)
	}
	return nil
}

// List returns up to limit messages to the address, newest first. A limit outside
// 1..MaxDevMailList means MaxDevMailList.
func (b *DevMailbox) List(ctx context.Context, to string, limit int) ([]DevMail, error) {
	if limit < 1 || limit > MaxDevMailList {
		limit = MaxDevMailList
	}
	var msgs []DevMail
	err := b.db.WithContext(ctx).Where("to_addr = ?", normalizeAddr(to)).
		Order("sent_at DESC, id").Limit(limit).Find(&msgs).Error
	if err != nil {
		return nil, fmt.Errorf("dev mailbox: list messages: %w", err)
	}
	for i := range msgs {
		msgs[i].SentAt = utc(msgs[i].SentAt)
	}
	return msgs, nil
}

func normalizeAddr(s string) string { return domain.FoldEmail(s) }
