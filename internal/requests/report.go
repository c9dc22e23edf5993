package requests

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// Report is the requester's copy of what the company found, changed and kept, in their
// words: by kind of data, each once, named by the data map's labels, never by the internal
// names of stores, tables or columns. A review's records come with it; card numbers show
// only their last 4 digits.
type Report struct {
	RequestID   string             `json:"request_id"`
	Type        domain.RequestType `json:"type"`
	CompletedAt *time.Time         `json:"completed_at"`
	Language    string             `json:"language"`
	// Categories are the kinds of data found, each once, in the data map's order.
	Categories []ReportCategory `json:"categories"`
	// Changed says what the request changed, each once.
	Changed  []string          `json:"changed,omitempty"`
	Retained []RetainedSummary `json:"retained,omitempty"`
	// HeldElsewhere are the stores' notes on data another party holds (the payment
	// provider), each once, so the report can say plainly what we do not hold.
	HeldElsewhere []string `json:"held_elsewhere,omitempty"`
	// Notes are the stores' other notes, each once.
	Notes []string `json:"notes,omitempty"`
	// Planned says, a sentence per system, what was planned before anything changed and
	// that the change matched it.
	Planned []string `json:"planned,omitempty"`
	// SharedWith are the organisations that received the person's data and were not told
	// of this request (a review changes nothing to tell).
	SharedWith []SharedWith `json:"shared_with,omitempty"`
	// Recipients are the organisations told of the change: only those the person's data
	// went to, with since when where a store says.
	Recipients []RecipientSummary `json:"recipients"`
	// CompletedOn is the completion date in the report's language, for the page.
	CompletedOn string `json:"-"`
}

// ReportCategory is one kind of data found, with the records of it a review exported.
type ReportCategory struct {
	Label       string        `json:"label"`
	Description string        `json:"description,omitempty"`
	Records     []RecordTable `json:"records,omitempty"`
}

// RecordTable is a set of records of one kind, as a table: column labels and rows of
// values in words.
type RecordTable struct {
	Label       string     `json:"label"`
	Description string     `json:"description,omitempty"`
	Columns     []string   `json:"columns"`
	Rows        [][]string `json:"rows"`
}

// SharedWith is an organisation a store says received the person's data, and since when.
type SharedWith struct {
	Name  string    `json:"name"`
	Since time.Time `json:"since,omitzero"`
	// SinceText is Since in the reader's words, "" when no store says.
	SinceText string `json:"-"`
}

// ReasonNotCompleted refuses a report before the request is done.
const ReasonNotCompleted = "request_not_completed"

var errNotCompleted = domain.Refusal(ReasonNotCompleted, "the report is ready once the request is completed")

// Report returns the report of a completed request the caller has found and may read, in
// lang, a language of the catalogue such as "en" or "nb"; "" or one the catalogue lacks
// means English. The data map's labels fall back to English too.
func (s *Service) Report(ctx context.Context, row *requestdb.Request, lang string) (Report, error) {
	return s.report(ctx, row, lang, false)
}

// report builds the report; portable writes dates as ISO 8601 for other programs.
func (s *Service) report(ctx context.Context, row *requestdb.Request, lang string, portable bool) (Report, error) {
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
	w := s.writer(lang, portable)
	report := Report{RequestID: row.ID, Type: row.Type, CompletedAt: row.CompletedAt, Language: w.lang(),
		Recipients: recipientsTold(notices, results)}
	for i := range results {
		// Old values of a correction are audit evidence, not part of the person's copy.
		results[i].Before = nil
		if results[i].Export != nil {
			results[i].Export = maskCardNumbers(results[i].Export).(map[string]any)
		}
	}
	report.Categories = w.categories(results)
	out := w.outcome(results)
	report.Changed, report.Retained = out.Changed, out.Retained
	for _, r := range results {
		for _, n := range r.Notes {
			if heldElsewhere(n) {
				report.HeldElsewhere = appendOnce(report.HeldElsewhere, n)
			} else {
				report.Notes = appendOnce(report.Notes, n)
			}
		}
	}
	report.SharedWith = sharedWith(results, report.Recipients)
	plans, err := s.opts.Store.StorePlans(ctx, row.ID)
	if err != nil {
		return Report{}, domain.Unavailable(err)
	}
	report.Planned = w.planned(plans)
	if row.CompletedAt != nil {
		report.CompletedOn = w.date(*row.CompletedAt, false)
	}
	for i, r := range report.Recipients {
		report.Recipients[i].SinceText = w.dateOrNothing(r.Since)
	}
	for i, r := range report.SharedWith {
		report.SharedWith[i].SinceText = w.dateOrNothing(r.Since)
	}
	return report, nil
}

// planned is a sentence per system on what its plan was, by the system's label: the number
// of records it worked out beforehand and changed, or that nothing needed changing, that
// people did it by hand, or that the system cannot say beforehand.
func (w valueWriter) planned(plans []requestdb.SealedPlan) []string {
	var out []string
	for _, p := range plans {
		label := datamap.Readable(p.Store)
		if st, ok := w.vocab.store(p.Store); ok {
			label = st.LabelIn(w.lang(), st.Name)
		}
		switch n := p.Plan.Changes(); {
		case p.Plan.CannotPlan != "":
			out = append(out, w.loc.T("report_plan_unplanned", "Store", label))
		case p.Plan.Instructions != "":
			out = append(out, w.loc.T("report_plan_by_hand", "Store", label))
		case n == 0:
			out = append(out, w.loc.T("report_plan_nothing", "Store", label))
		default:
			out = append(out, w.loc.T("report_plan_changed", "Store", label, "Count", n))
		}
	}
	return out
}

// OutcomeInWords is what the systems found, changed and kept, in the requester's words:
// each kind of data once, by its label, and each kept record once.
type OutcomeInWords struct {
	Found    []string
	Changed  []string
	Retained []RetainedSummary
}

func (w valueWriter) outcome(results []connector.Result) OutcomeInWords {
	var found, changed []string
	out := OutcomeInWords{}
	for _, r := range results {
		found = append(found, r.Found...)
		changed = append(changed, r.Changed...)
		for _, k := range r.Retained {
			kept := RetainedSummary{What: k.What, Reason: k.Reason, Until: k.Until, UntilText: w.loc.T("completion_until_lifted")}
			if !k.Until.IsZero() {
				kept.UntilText = w.date(k.Until, false)
			}
			if !slices.ContainsFunc(out.Retained, func(x RetainedSummary) bool {
				return x.What == kept.What && x.Reason == kept.Reason && x.Until.Equal(kept.Until)
			}) {
				out.Retained = append(out.Retained, kept)
			}
		}
	}
	out.Found, out.Changed = w.vocab.outcome(w.loc, found, changed)
	return out
}

// OutcomeLabels names what the stores found and changed in the reader's words, as the
// report does: the completion mail lists the same labels.
type OutcomeLabels struct{ vocab vocabulary }

// NewOutcomeLabels names things by the data maps' labels.
func NewOutcomeLabels(maps []*datamap.Map) OutcomeLabels {
	return OutcomeLabels{vocab: newVocabulary(maps)}
}

// Outcome returns the kinds of data found and changed (and the restrictions set) by their
// labels in lang, each once, in the data map's order; lang falls back as Report's does.
func (l OutcomeLabels) Outcome(lang string, found, changed []string) (foundLabels, changedLabels []string) {
	return l.vocab.outcome(i18n.Default().ForCode(lang), found, changed)
}

// sharedWith lists the recipients the stores say received the person's data, each once
// with the earliest date given, leaving out those told of the request.
func sharedWith(results []connector.Result, told []RecipientSummary) []SharedWith {
	var out []SharedWith
	for _, r := range results {
		for _, d := range r.DisclosedTo {
			if slices.ContainsFunc(told, func(t RecipientSummary) bool { return t.Name == d.Recipient }) {
				continue
			}
			i := slices.IndexFunc(out, func(x SharedWith) bool { return x.Name == d.Recipient })
			switch {
			case i < 0:
				out = append(out, SharedWith{Name: d.Recipient, Since: d.Since})
			case !d.Since.IsZero() && (out[i].Since.IsZero() || d.Since.Before(out[i].Since)):
				out[i].Since = d.Since
			}
		}
	}
	return out
}

func appendOnce(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
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
