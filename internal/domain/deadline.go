package domain

import "time"

// DeadlinePolicy holds the deployment's own answer time, used where no law sets one, and
// the extension rule of one request's jurisdiction once intake has fixed it.
type DeadlinePolicy struct {
	DefaultDays int // the table's default response (30 built in) when zero or negative
	// Extension is the request's one extension, copied from the jurisdictions table at
	// intake (Jurisdictions.Policy) so the workflow never reads the table. Inputs recorded
	// before it existed lack it and extend as the code then did (see legacyExtendedDueDate).
	Extension *ExtensionRule `json:",omitempty"`
}

// DefaultDeadlineDays is the answer time of the default jurisdiction in inputs recorded
// before the jurisdictions table, when their DefaultDays was not set.
const DefaultDeadlineDays = 30

func (p DeadlinePolicy) days() int {
	if p.DefaultDays <= 0 {
		return DefaultDeadlineDays
	}
	return p.DefaultDays
}

// DueDate returns when the answer to a request received at received is due under the
// built-in jurisdictions table (see Rules.DueDate).
func DueDate(j Jurisdiction, received time.Time, p DeadlinePolicy) time.Time {
	return BuiltinJurisdictions().For(j, p).DueDate(received)
}

// ExtendedDueDate returns the due date after the one allowed extension of the original due
// date, by the rule p carries. Workflows call it, so it reads nothing but its arguments.
func ExtendedDueDate(j Jurisdiction, original time.Time, p DeadlinePolicy) time.Time {
	if p.Extension != nil {
		return p.Extension.extend(original)
	}
	return legacyExtendedDueDate(j, original, p)
}

// legacyExtendedDueDate is the extension as code fixed it before the jurisdictions table,
// kept unchanged so that requests started then replay and extend as they always would:
// two further months under GDPR, 45 further days under CCPA, one more period of
// DefaultDays otherwise. The GDPR months count from the original due date, so a due date
// clamped to a short month stays early (Jan 31 -> Feb 28 -> Apr 28).
func legacyExtendedDueDate(j Jurisdiction, original time.Time, p DeadlinePolicy) time.Time {
	original = original.UTC()
	switch j {
	case JurisdictionGDPR:
		return addMonths(original, 2)
	case JurisdictionCCPA:
		return original.AddDate(0, 0, 45)
	}
	return original.AddDate(0, 0, p.days())
}

// AcknowledgeBy returns when receipt must be acknowledged under the built-in table and
// true, or false where the law sets no separate acknowledgement deadline.
func AcknowledgeBy(j Jurisdiction, received time.Time) (time.Time, bool) {
	return BuiltinJurisdictions().For(j, DeadlinePolicy{}).AcknowledgeBy(received)
}

// AlertAt returns the moment three quarters of the time to answer has been used, when the
// team is warned that a request is running late.
func AlertAt(received, due time.Time) time.Time {
	return received.UTC().Add(due.Sub(received) / 4 * 3)
}

// addMonths moves t by n calendar months, clamping the day to the end of a shorter month
// instead of letting time.AddDate roll over into the month after (Jan 31 + 1 month = Mar 3).
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}
