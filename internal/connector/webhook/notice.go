package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
)

// KindRecipientNotice is the kind of message dsr posts to a recipient of a person's data.
const KindRecipientNotice = "recipient_notice"

// RecipientNotice is the body dsr posts to a recipient: a company it shared the person's
// data with, asked to apply a correction, erasure or restriction too (GDPR Art. 19).
type RecipientNotice struct {
	Kind      string             `json:"kind"`
	RequestID string             `json:"request_id"`
	Operation domain.RequestType `json:"operation"`
	// Email is the address the recipient knows the person by.
	Email   string         `json:"email"`
	Details domain.Details `json:"details"`
	// Change says in words what to do, as the e-mail notice does.
	Change    string    `json:"change"`
	RespondBy time.Time `json:"respond_by"`
	// IdempotencyKey is the same on every attempt; a recipient that has seen it answers
	// as it did the first time and acts once.
	IdempotencyKey string `json:"idempotency_key"`
}

// NoticeIdempotencyKey returns the key of the notice of a request to a recipient.
func NoticeIdempotencyKey(requestID, recipient string) string {
	return requestID + ":" + KindRecipientNotice + ":" + recipient
}

// Receipt is a recipient's answer to a notice: the HTTP status and what its body says.
type Receipt struct {
	StatusCode int
	// Status is the body's status: acknowledged, done or not_found; acknowledged when the
	// body gives none.
	Status string
}

// String is the receipt as the completion mail and the status view show it.
func (r Receipt) String() string {
	return fmt.Sprintf("%s (HTTP %d)", strings.ReplaceAll(r.Status, "_", " "), r.StatusCode)
}

var receiptStatuses = []string{"acknowledged", "done", "not_found"}

// Notify posts the notice, signed with the connector's key, and returns the recipient's
// receipt for a 2xx answer. Failures follow Apply's rules: connector.ErrPermanent marks
// those a retry will not cure, and no error quotes the answer.
func (c *Connector) Notify(ctx context.Context, n RecipientNotice) (Receipt, error) {
	if c.cfg.URL == "" || c.cfg.KeyID == "" || len(c.cfg.Secret) == 0 {
		return Receipt{}, fmt.Errorf("recipient %s needs a URL, a key ID and a secret: %w", c.name, connector.ErrPermanent)
	}
	email, err := domain.NormalizeEmail(n.Email)
	if err != nil {
		return Receipt{}, fmt.Errorf("recipient %s: %w: %w", c.name, err, connector.ErrPermanent)
	}
	n.Kind, n.Email = KindRecipientNotice, email
	n.IdempotencyKey = NoticeIdempotencyKey(n.RequestID, c.name)
	body, err := jsonBody(n)
	if err != nil {
		return Receipt{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.send(ctx, body)
	if err != nil {
		return Receipt{}, fmt.Errorf("recipient %s: %w", c.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		drain(resp.Body)
		return Receipt{}, fmt.Errorf("recipient %s: %w", c.name, statusError(resp.StatusCode))
	}
	receipt := Receipt{StatusCode: resp.StatusCode, Status: "acknowledged"}
	raw, err := readBody(resp.Body, resp.ContentLength)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		// The recipient has the notice; an unreadable body only loses its detail.
		return receipt, nil
	}
	var answer struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(raw, &answer) == nil {
		for _, s := range receiptStatuses {
			if answer.Status == s {
				receipt.Status = s
			}
		}
	}
	return receipt, nil
}
