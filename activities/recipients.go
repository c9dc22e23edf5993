package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// recipientAnswerDays is how long a recipient is given to confirm a change.
const recipientAnswerDays = 14

// NotifyRecipientsInput names the stores that held the person's data.
type NotifyRecipientsInput struct {
	RequestID string
	Stores    []string
}

// RecipientNotice is what became of one recipient's notice.
type RecipientNotice struct {
	Name    string `json:"name"`
	Channel string `json:"channel"`
	Status  string `json:"status"`
}

// NotifyRecipients tells every affiliate and third party that received data from those
// stores about the change (GDPR Art. 19), once each: a retry skips notices already sent.
func (a *Activities) NotifyRecipients(ctx context.Context, in NotifyRecipientsInput) ([]RecipientNotice, error) {
	req, err := a.Requests.GetRequest(ctx, in.RequestID)
	if err != nil {
		return nil, err
	}
	var details domain.Details
	if err := json.Unmarshal([]byte(req.Details), &details); err != nil {
		return nil, fmt.Errorf("request details: %w", err)
	}
	change := describeChange(req.Type, details)
	seen := map[string]bool{}
	var out []RecipientNotice
	for _, store := range in.Stores {
		for _, r := range a.Recipients[store] {
			if seen[r.Name] {
				continue
			}
			seen[r.Name] = true
			notice, err := a.notifyRecipient(ctx, req, r, change)
			if err != nil {
				return nil, err
			}
			out = append(out, notice)
		}
	}
	return out, nil
}

func (a *Activities) notifyRecipient(ctx context.Context, req *requestdb.Request, r datamap.Recipient, change string) (RecipientNotice, error) {
	if r.Email == "" {
		// Webhook recipients need the signed protocol; until it is configured they are
		// listed for staff to contact.
		return RecipientNotice{Name: r.Name, Channel: "webhook", Status: "not sent: webhook notices are not configured"}, nil
	}
	key := fmt.Sprintf("%s:recipient:%s", req.ID, r.Name)
	sent, err := a.Requests.MailSent(ctx, key)
	if err != nil {
		return RecipientNotice{}, err
	}
	notice := RecipientNotice{Name: r.Name, Channel: "email", Status: "sent"}
	if sent {
		return notice, nil
	}
	msg, err := mail.Render(mail.Notice{
		Kind: mail.KindRecipientNotice, To: r.Email, RequestID: req.ID, Organization: a.Organization,
		Data: mail.RecipientNotice{Change: change, SubjectRef: req.Email, RespondBy: time.Now().UTC().AddDate(0, 0, recipientAnswerDays)},
	})
	if err != nil {
		return RecipientNotice{}, err
	}
	if err := a.Mail.Send(ctx, msg); err != nil {
		if mail.IsPermanent(err) {
			notice.Status = "failed: " + err.Error()
			return notice, nil
		}
		return RecipientNotice{}, err
	}
	return notice, a.Requests.RecordMail(ctx, requestdb.MailRecord{Key: key, RequestID: req.ID, Kind: string(mail.KindRecipientNotice), SentAt: time.Now().UTC()})
}

// describeChange says in plain words what the recipient should do.
func describeChange(t domain.RequestType, d domain.Details) string {
	switch t {
	case domain.TypeCorrect, domain.TypeUpdate:
		var parts []string
		for _, c := range d.Changes {
			parts = append(parts, fmt.Sprintf("%s: %s", strings.ReplaceAll(c.Field, "_", " "), c.Value))
		}
		return "Correct these details: " + strings.Join(parts, "; ") + "."
	case domain.TypeSuppress, domain.TypeChildErasure:
		if d.Scope != nil && !d.Scope.All && len(d.Scope.Categories) > 0 {
			return "Erase this personal information: " + strings.ReplaceAll(strings.Join(d.Scope.Categories, ", "), "_", " ") + "."
		}
		return "Erase all personal information about this person."
	case domain.TypeRestrict:
		var limits []string
		for _, l := range d.Limits {
			switch l {
			case domain.LimitMarketingEmail:
				limits = append(limits, "stop sending marketing e-mail")
			case domain.LimitAffiliateSharing:
				limits = append(limits, "stop receiving this person's data from us for your own use")
			case domain.LimitAllProcessing:
				limits = append(limits, "keep the data but stop all other use of it")
			}
		}
		return "Restrict use of this person's data: " + strings.Join(limits, "; ") + "."
	}
	return ""
}
