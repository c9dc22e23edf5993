package domain

import "time"

// DeadlinePolicy holds the deployment's own answer time, used where no law sets one.
type DeadlinePolicy struct {
	DefaultDays int // 30 when zero or negative
}

// DefaultDeadlineDays is the answer time of the default jurisdiction unless configured.
const DefaultDeadlineDays = 30

func (p DeadlinePolicy) days() int {
	if p.DefaultDays <= 0 {
		return DefaultDeadlineDays
	}
	return p.DefaultDays
}

// DueDate returns when the answer to a request received at received is due: one calendar
// month under GDPR Art. 12(3), 45 calendar days under CCPA §7021, DefaultDays otherwise.
// The time of day is kept, which is no later than the legal end of the due day.
func DueDate(j Jurisdiction, received time.Time, p DeadlinePolicy) time.Time {
	received = received.UTC()
	switch j {
	case JurisdictionGDPR:
		return addMonths(received, 1)
	case JurisdictionCCPA:
		return received.AddDate(0, 0, 45)
	}
	return received.AddDate(0, 0, p.days())
}

// ExtendedDueDate returns the due date after the one allowed extension of the original due
// date: two further months under GDPR, 45 further days under CCPA, and one more period of
// DefaultDays otherwise (no law sets one, so we mirror the CCPA's "once, same length" rule).
// The GDPR months count from the original due date, so a due date clamped to a short month
// stays early (Jan 31 -> Feb 28 -> Apr 28) rather than growing past the law's limit.
func ExtendedDueDate(j Jurisdiction, original time.Time, p DeadlinePolicy) time.Time {
	original = original.UTC()
	switch j {
	case JurisdictionGDPR:
		return addMonths(original, 2)
	case JurisdictionCCPA:
		return original.AddDate(0, 0, 45)
	}
	return original.AddDate(0, 0, p.days())
}

// AcknowledgeBy returns when receipt must be acknowledged and true, or false where the law
// sets no separate acknowledgement deadline. CCPA §7021 allows 10 business days; public
// holidays are not skipped, so the date errs early.
func AcknowledgeBy(j Jurisdiction, received time.Time) (time.Time, bool) {
	if j != JurisdictionCCPA {
		return time.Time{}, false
	}
	t := received.UTC()
	for left := 10; left > 0; {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			left--
		}
	}
	return t, true
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
