package demo

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/dsr-project/dsr/internal/domain"
)

// Order records are kept for tax law; the reason is reported to the requester as written.
const (
	OrderRetentionYears  = 7
	OrderRetentionReason = "Tax and accounting records kept 7 years (GDPR Art. 17(3)(b), legal obligation)"
)

// affiliates are the Affiliated Entities that receive customer data while sharing is on.
var affiliates = []string{"Smith Micro Software UK Limited", "Smith Micro Software AS"}

// MatchDataPoints returns how many of the answers (postal_code, phone_last4, order_number)
// match what is held for email. Answers compare without case, spaces or dashes; unknown
// keys and blank answers match nothing.
func (s *Store) MatchDataPoints(ctx context.Context, email string, answers map[string]string) (int, error) {
	h, err := load(s.db.WithContext(ctx), strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return 0, fmt.Errorf("demo store: match data points: %w", err)
	}
	matched := 0
	for key, answer := range answers {
		a := normalise(answer)
		if a != "" && slices.ContainsFunc(h.dataPoints(key), func(v string) bool { return normalise(v) == a }) {
			matched++
		}
	}
	return matched, nil
}

// Review exports everything held for email and lists its categories.
func (s *Store) Review(ctx context.Context, requestID, email string) (Result, error) {
	return s.apply(ctx, requestID, domain.TypeReview, email, func(tx *gorm.DB, email string, _ time.Time) (Result, error) {
		h, err := load(tx, email)
		if err != nil || h.empty() {
			return Result{NotFound: true}, err
		}
		r := Result{Found: h.categories(), Export: h.export()}
		if len(h.orders) > 0 {
			r.Notes = append(r.Notes, "Full card numbers are collected and held by the payment service, not by us; we keep only the last 4 digits.")
		}
		return r, nil
	})
}

// Correct sets the named fields to their new values. A field this store cannot correct is
// an error wrapping domain.ErrInvalid, as is an empty value (erasure is a suppression).
// Changed lists the fields whose value differed.
func (s *Store) Correct(ctx context.Context, requestID, email string, changes []domain.FieldChange) (Result, error) {
	if len(changes) == 0 {
		return Result{}, fmt.Errorf("demo store correct: no changes: %w", domain.ErrInvalid)
	}
	for i, ch := range changes {
		if !slices.Contains(personalFields, ch.Field) {
			return Result{}, fmt.Errorf("demo store correct: change %d names a field this store cannot correct, want one of %v: %w", i, personalFields, domain.ErrInvalid)
		}
		if strings.TrimSpace(ch.Value) == "" {
			return Result{}, fmt.Errorf("demo store correct: change %d has an empty value: %w", i, domain.ErrInvalid)
		}
	}
	return s.apply(ctx, requestID, domain.TypeCorrect, email, func(tx *gorm.DB, email string, _ time.Time) (Result, error) {
		h, err := load(tx, email)
		if err != nil || h.customer == nil {
			return Result{NotFound: true}, err
		}
		want := map[string]string{} // the last change to a field wins
		for _, ch := range changes {
			want[ch.Field] = strings.TrimSpace(ch.Value)
		}
		var r Result
		var sets []string
		var args []any
		cols := h.customer.columns()
		for _, f := range personalFields {
			if v, ok := want[f]; ok && (cols[f] == nil || *cols[f] != v) {
				r.Changed = append(r.Changed, f)
				sets = append(sets, f+" = ?") // f is from the allow-list, never from input
				args = append(args, v)
			}
		}
		if len(sets) > 0 {
			err = tx.Exec(`UPDATE customers SET `+strings.Join(sets, ", ")+` WHERE email = ?`, append(args, email)...).Error
		}
		return r, err
	})
}

// Suppress erases what scope names. With All the customer row and web logs are deleted,
// orders past their retention are deleted and younger ones retained, and a keyed hash of
// the address (HMAC-SHA256 with key) goes on the suppression list. With categories, the
// matching customer columns are nulled and server_logs deletes the web logs; order_history
// and payment_card_last4 follow the order retention rule. Categories this store does not
// hold are ignored; names that are no category at all wrap domain.ErrInvalid.
func (s *Store) Suppress(ctx context.Context, requestID, email string, scope domain.SuppressScope, key []byte) (Result, error) {
	cats := map[string]bool{}
	known := domain.DefaultCategories()
	for i, c := range scope.Categories {
		if _, ok := known.Find(c); !ok {
			return Result{}, fmt.Errorf("demo store suppress: category %d is unknown: %w", i, domain.ErrInvalid)
		}
		cats[c] = true
	}
	switch {
	case scope.All && len(key) == 0:
		return Result{}, fmt.Errorf("demo store suppress: suppression list key is empty: %w", domain.ErrInvalid)
	case scope.All:
		for _, c := range known {
			cats[c.Name] = true
		}
	case len(cats) == 0:
		return Result{}, fmt.Errorf("demo store suppress: scope names nothing: %w", domain.ErrInvalid)
	}
	return s.apply(ctx, requestID, domain.TypeSuppress, email, func(tx *gorm.DB, email string, now time.Time) (Result, error) {
		h, err := load(tx, email)
		if err != nil {
			return Result{}, err
		}
		r := Result{Found: h.categories(), NotFound: h.empty()}
		if err := suppressCustomer(tx, h, cats, scope.All, &r); err != nil {
			return r, err
		}
		if cats["order_history"] || cats["payment_card_last4"] {
			if err := suppressOrders(tx, h, cats, now, &r); err != nil {
				return r, err
			}
		}
		if cats["server_logs"] && len(h.logs) > 0 {
			if err := tx.Exec(`DELETE FROM web_logs WHERE customer_email = ?`, email).Error; err != nil {
				return r, err
			}
			r.Changed = append(r.Changed, "server_logs")
		}
		if scope.All {
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(email))
			if err := tx.Exec(`INSERT INTO suppression_list (email_hash, suppressed_at) VALUES (?, ?) ON CONFLICT DO NOTHING`,
				hex.EncodeToString(mac.Sum(nil)), now).Error; err != nil {
				return r, err
			}
			r.Notes = append(r.Notes, "A keyed hash of the address is on the suppression list, so it is not re-imported or contacted by marketing.")
		}
		return r, nil
	})
}

func suppressCustomer(tx *gorm.DB, h holding, cats map[string]bool, all bool, r *Result) error {
	if h.customer == nil {
		return nil
	}
	var nulls []string
	for _, f := range personalFields {
		if cats[f] && h.customer.holds(f) {
			r.Changed = append(r.Changed, f)
			for _, col := range columnsOf(f) {
				nulls = append(nulls, col+" = NULL")
			}
		}
	}
	switch {
	case all:
		return tx.Exec(`DELETE FROM customers WHERE email = ?`, h.customer.Email).Error
	case len(nulls) > 0:
		return tx.Exec(`UPDATE customers SET `+strings.Join(nulls, ", ")+` WHERE email = ?`, h.customer.Email).Error
	}
	return nil
}

// suppressOrders deletes orders past their retention and reports the younger ones as retained.
func suppressOrders(tx *gorm.DB, h holding, cats map[string]bool, now time.Time, r *Result) error {
	var expired []string
	card := false
	for _, o := range h.orders {
		until := o.OrderedAt.AddDate(OrderRetentionYears, 0, 0)
		if until.After(now) {
			r.Retained = append(r.Retained, Retention{
				What:   fmt.Sprintf("order %s of %s", o.OrderNumber, o.OrderedAt.Format(time.DateOnly)),
				Reason: OrderRetentionReason, Until: until,
			})
			continue
		}
		expired = append(expired, o.OrderNumber)
		card = card || o.CardLast4 != nil
	}
	if len(expired) == 0 {
		return nil
	}
	if cats["order_history"] {
		r.Changed = append(r.Changed, "order_history")
	}
	if cats["payment_card_last4"] && card {
		r.Changed = append(r.Changed, "payment_card_last4")
	}
	return tx.Exec(`DELETE FROM orders WHERE order_number IN ?`, expired).Error
}

// Restrict applies the limits to future use. Changed lists the limits whose flag moved; the
// notes name the affiliates that already received data, which the opt-out cannot recall.
// An unknown limit wraps domain.ErrInvalid.
func (s *Store) Restrict(ctx context.Context, requestID, email string, limits []domain.RestrictLimit) (Result, error) {
	if len(limits) == 0 {
		return Result{}, fmt.Errorf("demo store restrict: no limits: %w", domain.ErrInvalid)
	}
	for _, l := range limits {
		if _, err := domain.ParseRestrictLimit(string(l)); err != nil {
			return Result{}, fmt.Errorf("demo store restrict: %w", err)
		}
	}
	return s.apply(ctx, requestID, domain.TypeRestrict, email, func(tx *gorm.DB, email string, now time.Time) (Result, error) {
		h, err := load(tx, email)
		if err != nil || h.customer == nil {
			return Result{NotFound: true}, err
		}
		c := h.customer
		flags := map[domain.RestrictLimit]struct {
			column     string
			want, held bool
		}{
			domain.LimitMarketingEmail:   {"marketing_email_opt_in", false, c.MarketingEmailOptIn},
			domain.LimitAffiliateSharing: {"share_with_affiliates", false, c.ShareWithAffiliates},
			domain.LimitAllProcessing:    {"processing_restricted", true, c.ProcessingRestricted},
		}
		var r Result
		for _, l := range limits {
			f := flags[l]
			if f.held == f.want || slices.Contains(r.Changed, string(l)) {
				continue
			}
			if err := tx.Exec(`UPDATE customers SET `+f.column+` = ? WHERE email = ?`, f.want, email).Error; err != nil {
				return r, err
			}
			r.Changed = append(r.Changed, string(l))
			switch l {
			case domain.LimitAffiliateSharing:
				r.Notes = append(r.Notes, fmt.Sprintf("Sharing with affiliates stopped on %s. These affiliates had already received data and are not bound to remove it: %s.",
					now.Format(time.DateOnly), strings.Join(affiliates, ", ")))
			case domain.LimitAllProcessing:
				r.Notes = append(r.Notes, "Processing is restricted: the data is only stored until the restriction is lifted (GDPR Art. 18).")
			}
		}
		return r, nil
	})
}
