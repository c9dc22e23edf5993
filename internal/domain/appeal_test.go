package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
)

func TestAppealTextIsBoundedPlainText(t *testing.T) {
	for _, c := range []struct {
		text string
		want domain.AppealTextProblem
	}{
		{"I disagree.\r\nMy name is right.\tTruly.", ""},
		{"Jeg er uenig 😀", ""},
		{strings.Repeat("é", domain.MaxAppealText), ""},
		{"  \n\t", domain.AppealTextEmpty},
		{strings.Repeat("x", domain.MaxAppealText+1), domain.AppealTextLong},
		{"bell\a", domain.AppealTextControl},
		{"escape \x1b[31m", domain.AppealTextControl},
		{"override \u202Eevil", domain.AppealTextControl},
		{"not utf-8 \xff", domain.AppealTextControl},
	} {
		if got := domain.CheckAppealText(c.text); got != c.want {
			t.Errorf("%q: got %q, want %q", c.text, got, c.want)
		}
	}
}

func TestAppealWindowsAndDeadlinesComeFromTheTable(t *testing.T) {
	table := domain.BuiltinJurisdictions()
	decided := day(2025, time.March, 3)
	for _, c := range []struct {
		j             domain.Jurisdiction
		appealable    bool
		due, extended time.Time
	}{
		{domain.JurisdictionVCDPA, true, day(2025, time.May, 2), day(2025, time.May, 2)},
		{domain.JurisdictionCPA, true, day(2025, time.April, 17), day(2025, time.June, 16)},
		{domain.JurisdictionCTDPA, true, day(2025, time.May, 2), day(2025, time.May, 2)},
		{domain.JurisdictionGDPR, false, time.Time{}, time.Time{}},
		{domain.JurisdictionCCPA, false, time.Time{}, time.Time{}},
		{domain.JurisdictionDefault, false, time.Time{}, time.Time{}},
	} {
		rules := table.For(c.j, domain.DeadlinePolicy{})
		until, ok := rules.AppealWindowEnds(decided)
		if ok != c.appealable {
			t.Errorf("%s: appealable %v, want %v", c.j, ok, c.appealable)
			continue
		}
		if !ok {
			continue
		}
		if !until.Equal(decided.AddDate(0, 0, 60)) {
			t.Errorf("%s: window ends %v, want 60 days on", c.j, until)
		}
		due := rules.AppealDueDate(decided)
		if ext := rules.AppealExtensionRule(decided).Extend(due); !due.Equal(c.due) || !ext.Equal(c.extended) {
			t.Errorf("%s: due %v extended %v, want %v and %v", c.j, due, ext, c.due, c.extended)
		}
	}
}
