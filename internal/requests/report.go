package requests

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// Report is the requester's copy of what each of the company's systems found, changed and
// kept, with a review's exported data. Card numbers show only their last 4 digits.
type Report struct {
	RequestID   string             `json:"request_id"`
	Type        domain.RequestType `json:"type"`
	CompletedAt *time.Time         `json:"completed_at"`
	Stores      []connector.Result `json:"stores"`
	// Recipients are the organisations told of the change: only those the person's data
	// went to, with since when where a store says.
	Recipients []RecipientSummary `json:"recipients"`
	// HeldElsewhere are the stores' notes on data another party holds (the payment
	// provider), gathered once so the report can say plainly what we do not hold.
	HeldElsewhere []string `json:"-"`
}

// ReasonNotCompleted refuses a report before the request is done.
const ReasonNotCompleted = "request_not_completed"

var errNotCompleted = domain.Refusal(ReasonNotCompleted, "the report is ready once the request is completed")

// Report returns the report of a completed request the caller has found and may read.
func (s *Service) Report(ctx context.Context, row *requestdb.Request) (Report, error) {
	if row.Status != domain.StatusCompleted {
		return Report{}, errNotCompleted
	}
	results, err := s.opts.Store.StoreResults(ctx, row.ID)
	if err != nil {
		return Report{}, domain.Unavailable(err)
	}
	notices, err := s.opts.Store.RecipientNotices(ctx, row.ID)
	if err != nil {
		return Report{}, domain.Unavailable(err)
	}
	report := Report{RequestID: row.ID, Type: row.Type, CompletedAt: row.CompletedAt, Stores: results,
		Recipients: recipientsTold(notices, results)}
	for i := range results {
		// Old values of a correction are audit evidence, not part of the person's copy.
		results[i].Before = nil
		if results[i].Export != nil {
			results[i].Export = maskCardNumbers(results[i].Export).(map[string]any)
		}
		for _, n := range results[i].Notes {
			if heldElsewhere(n) && !slices.Contains(report.HeldElsewhere, n) {
				report.HeldElsewhere = append(report.HeldElsewhere, n)
			}
		}
	}
	return report, nil
}

// heldElsewhere reports whether a store's note speaks of data another party holds.
func heldElsewhere(note string) bool {
	n := strings.ToLower(note)
	return strings.Contains(n, "payment") || strings.Contains(n, "not by us") || strings.Contains(n, "not held by us")
}

// maskCardNumbers replaces every value of an export that looks like a payment card number
// with its last 4 digits. The stores already export no more than that; this is the last
// line of defence before the data leaves.
func maskCardNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = maskCardNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = maskCardNumbers(e)
		}
	case string:
		if digits, ok := domain.CardNumberDigits(x); ok {
			return "**** " + digits[len(digits)-4:]
		}
	case float64:
		if x == math.Trunc(x) && x > 0 && x < 1e19 {
			if digits, ok := domain.CardNumberDigits(strconv.FormatFloat(x, 'f', 0, 64)); ok {
				return "**** " + digits[len(digits)-4:]
			}
		}
	}
	return v
}
