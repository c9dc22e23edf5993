package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/webhook"
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

// NotifyRecipients tells every affiliate and third party that received the person's data
// from those stores about the change (GDPR Art. 19), once each: a retry skips notices
// already sent. A recipient with a disclosed_when rule is told only if its store's result
// says the data went to it, since the notice itself names the person.
func (a *Activities) NotifyRecipients(ctx context.Context, in NotifyRecipientsInput) ([]RecipientNotice, error) {
	req, err := a.Requests.GetRequest(ctx, in.RequestID)
	if err != nil {
		return nil, err
	}
	var details domain.Details
	if err := json.Unmarshal([]byte(req.Details), &details); err != nil {
		return nil, fmt.Errorf("request details: %w", err)
	}
	disclosed, err := a.disclosures(ctx, in)
	if err != nil {
		return nil, err
	}
	change := describeChange(req.Type, details)
	seen := map[string]bool{}
	var out []RecipientNotice
	for _, store := range in.Stores {
		for _, r := range a.Recipients[store] {
			if seen[r.Name] || (r.DisclosedWhen != nil && !disclosed[[2]string{store, r.Name}]) {
				continue
			}
			seen[r.Name] = true
			notice, err := a.notifyRecipient(ctx, req, details, r, change)
			if err != nil {
				return nil, err
			}
			out = append(out, notice)
		}
	}
	return out, nil
}

// disclosures reads, from the stores' saved results, which recipients each store says
// received the person's data, keyed by store and recipient. It reads nothing when no
// recipient of the stores has a disclosed_when rule.
func (a *Activities) disclosures(ctx context.Context, in NotifyRecipientsInput) (map[[2]string]bool, error) {
	ruled := false
	for _, store := range in.Stores {
		ruled = ruled || slices.ContainsFunc(a.Recipients[store], func(r datamap.Recipient) bool { return r.DisclosedWhen != nil })
	}
	if !ruled {
		return nil, nil
	}
	results, err := a.Requests.StoreResults(ctx, in.RequestID)
	if err != nil {
		return nil, err
	}
	out := map[[2]string]bool{}
	for _, res := range results {
		for _, d := range res.DisclosedTo {
			out[[2]string{res.Store, d.Recipient}] = true
		}
	}
	return out, nil
}

func (a *Activities) notifyRecipient(ctx context.Context, req *requestdb.Request, details domain.Details, r datamap.Recipient, change string) (RecipientNotice, error) {
	rec, err := a.Requests.RecipientNotice(ctx, req.ID, r.Name)
	if err != nil {
		return RecipientNotice{}, err
	}
	if rec != nil {
		return RecipientNotice{Name: r.Name, Channel: rec.Channel, Status: rec.Outcome()}, nil
	}
	respondBy := time.Now().UTC().AddDate(0, 0, recipientAnswerDays).Truncate(time.Second)
	var out requestdb.RecipientNoticeRecord
	switch {
	case r.Email != "":
		out, err = a.mailRecipient(ctx, req, r, change, respondBy)
	case r.KeyID == "":
		// Without a signing key a webhook notice cannot be authenticated; staff contact
		// the recipient themselves.
		out = requestdb.RecipientNoticeRecord{Channel: "webhook", Status: "not sent: the data map gives no key to sign webhook notices"}
	default:
		out, err = a.postRecipient(ctx, req, details, r, change, respondBy)
	}
	if err != nil {
		return RecipientNotice{}, err
	}
	out.RequestID, out.Recipient, out.SentAt = req.ID, r.Name, time.Now().UTC()
	if err := a.Requests.RecordRecipientNotice(ctx, out); err != nil {
		return RecipientNotice{}, err
	}
	return RecipientNotice{Name: r.Name, Channel: out.Channel, Status: out.Outcome()}, nil
}

// mailRecipient mails the notice once: the mail log's key guards a retry that runs after
// the mail went out but before the notice was recorded.
func (a *Activities) mailRecipient(ctx context.Context, req *requestdb.Request, r datamap.Recipient, change string, respondBy time.Time) (requestdb.RecipientNoticeRecord, error) {
	out := requestdb.RecipientNoticeRecord{Channel: "email", Status: "sent"}
	key := fmt.Sprintf("%s:recipient:%s", req.ID, r.Name)
	sent, err := a.Requests.MailSent(ctx, key)
	if err != nil || sent {
		return out, err
	}
	msg, err := a.render(mail.Notice{
		Kind: mail.KindRecipientNotice, To: r.Email, RequestID: req.ID, Organization: a.Organization,
		Data: mail.RecipientNotice{Change: change, SubjectRef: req.Email, RespondBy: respondBy},
	})
	if err != nil {
		return out, err
	}
	if err := a.Mail.Send(ctx, msg); err != nil {
		if mail.IsPermanent(err) {
			out.Status = "failed: " + err.Error()
			return out, nil
		}
		return out, err
	}
	return out, a.recordSent(ctx, requestdb.MailRecord{Key: key, RequestID: req.ID, Kind: string(mail.KindRecipientNotice), SentAt: time.Now().UTC()})
}

// postRecipient posts the signed notice (PROTOCOL.md, "Recipient notices"). A retry after
// a crash between the answer and its record posts again with the same idempotency key,
// which the recipient honours, so it acts once.
func (a *Activities) postRecipient(ctx context.Context, req *requestdb.Request, details domain.Details, r datamap.Recipient, change string, respondBy time.Time) (requestdb.RecipientNoticeRecord, error) {
	out := requestdb.RecipientNoticeRecord{Channel: "webhook"}
	lookup := a.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	secret, ok := lookup(r.SecretEnv)
	if !ok || len(secret) < webhook.MinSecretBytes {
		out.Status = fmt.Sprintf("not sent: environment variable %s (the recipient's secret_env) is not set or shorter than %d bytes", r.SecretEnv, webhook.MinSecretBytes)
		return out, nil
	}
	hook := webhook.New(r.Name, webhook.Config{URL: r.Webhook, KeyID: r.KeyID, Secret: []byte(secret), Client: a.HTTPClient})
	receipt, err := hook.Notify(ctx, webhook.RecipientNotice{
		RequestID: req.ID, Operation: req.Type, Email: req.Email, Details: details, Change: change, RespondBy: respondBy,
	})
	switch {
	case errors.Is(err, connector.ErrPermanent):
		out.Status = "failed"
		out.Answer = err.Error()
		return out, nil
	case err != nil:
		return out, err
	}
	out.Status, out.Answer = "sent", receipt.String()
	return out, nil
}

// limitWords say to a recipient what each limit asks of them, when set and when lifted.
var limitWords = map[domain.RestrictLimit]struct{ set, lifted string }{
	domain.LimitMarketingEmail:   {"stop sending marketing e-mail", "marketing e-mail may be sent again"},
	domain.LimitAffiliateSharing: {"stop receiving this person's data from us for your own use", "this person's data may be shared with you again"},
	domain.LimitAllProcessing:    {"keep the data but stop all other use of it", "the data may be used again as before"},
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
		var said []string
		for _, l := range d.Limits {
			if w, ok := limitWords[l]; ok && d.Lift {
				said = append(said, w.lifted)
			} else if ok {
				said = append(said, w.set)
			}
		}
		if d.Lift {
			return "The person has lifted a restriction on their data: " + strings.Join(said, "; ") + "."
		}
		return "Restrict use of this person's data: " + strings.Join(said, "; ") + "."
	}
	return ""
}
