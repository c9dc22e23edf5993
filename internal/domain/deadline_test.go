package domain_test

import (
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 30, 0, 0, time.UTC) }

func same(t *testing.T, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

var policy = domain.DeadlinePolicy{}

func TestGDPRDueDateIsSameDayNextMonth(t *testing.T) {
	same(t, domain.DueDate(domain.JurisdictionGDPR, day(2025, time.March, 14), policy), day(2025, time.April, 14))
}

func TestGDPRDueDateClampsToEndOfShortMonth(t *testing.T) {
	same(t, domain.DueDate(domain.JurisdictionGDPR, day(2025, time.January, 31), policy), day(2025, time.February, 28))
}

func TestGDPRDueDateClampsToLeapDay(t *testing.T) {
	same(t, domain.DueDate(domain.JurisdictionGDPR, day(2024, time.January, 31), policy), day(2024, time.February, 29))
}

func TestGDPRDueDateCrossesYearEnd(t *testing.T) {
	same(t, domain.DueDate(domain.JurisdictionGDPR, day(2025, time.December, 31), policy), day(2026, time.January, 31))
}

func TestDueDateIsInUTC(t *testing.T) {
	received := time.Date(2025, time.March, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600))
	if got := domain.DueDate(domain.JurisdictionGDPR, received, policy); got.Location() != time.UTC || got.Day() != 28 {
		t.Errorf("got %v, want 28 Mar in UTC", got)
	}
}

func TestCCPADueDateIs45Days(t *testing.T) {
	same(t, domain.DueDate(domain.JurisdictionCCPA, day(2025, time.January, 1), policy), day(2025, time.February, 15))
}

func TestDefaultDueDateIs30DaysUnlessConfigured(t *testing.T) {
	same(t, domain.DueDate(domain.JurisdictionDefault, day(2025, time.January, 1), policy), day(2025, time.January, 31))
	same(t, domain.DueDate(domain.JurisdictionDefault, day(2025, time.January, 1), domain.DeadlinePolicy{DefaultDays: 10}),
		day(2025, time.January, 11))
}

func TestGDPRExtensionAddsTwoMonthsToOriginal(t *testing.T) {
	same(t, domain.ExtendedDueDate(domain.JurisdictionGDPR, day(2025, time.February, 28), policy), day(2025, time.April, 28))
	same(t, domain.ExtendedDueDate(domain.JurisdictionGDPR, day(2025, time.December, 31), policy), day(2026, time.February, 28))
}

func TestCCPAExtensionAdds45Days(t *testing.T) {
	same(t, domain.ExtendedDueDate(domain.JurisdictionCCPA, day(2025, time.February, 15), policy), day(2025, time.April, 1))
}

func TestDefaultExtensionAddsOneMorePeriod(t *testing.T) {
	same(t, domain.ExtendedDueDate(domain.JurisdictionDefault, day(2025, time.January, 31), policy), day(2025, time.March, 2))
}

func TestCCPAAcknowledgementSkipsWeekends(t *testing.T) {
	// Friday 3 Jan 2025 + 10 business days = Friday 17 Jan.
	got, ok := domain.AcknowledgeBy(domain.JurisdictionCCPA, day(2025, time.January, 3))
	if !ok {
		t.Fatal("got no acknowledgement deadline, want one")
	}
	same(t, got, day(2025, time.January, 17))
}

func TestCCPAAcknowledgementOfWeekendRequestCountsFromMonday(t *testing.T) {
	got, _ := domain.AcknowledgeBy(domain.JurisdictionCCPA, day(2025, time.January, 4)) // Saturday
	same(t, got, day(2025, time.January, 17))
}

func TestGDPRHasNoSeparateAcknowledgement(t *testing.T) {
	if got, ok := domain.AcknowledgeBy(domain.JurisdictionGDPR, day(2025, time.January, 3)); ok || !got.IsZero() {
		t.Errorf("got %v, %v, want zero, false", got, ok)
	}
}

func TestAlertAtThreeQuartersOfTheTime(t *testing.T) {
	received := day(2025, time.January, 1)
	same(t, domain.AlertAt(received, received.Add(40*24*time.Hour)), received.Add(30*24*time.Hour))
}
