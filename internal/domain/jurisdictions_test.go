package domain_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
)

// dates runs a request received at received through the built-in table as intake and the
// workflow do: the due date, then the extended one by the rule carried in the policy.
func dates(j domain.Jurisdiction, received time.Time, p domain.DeadlinePolicy) (due, extended time.Time) {
	t := domain.BuiltinJurisdictions()
	due = t.For(j, p).DueDate(received)
	return due, domain.ExtendedDueDate(j, due, t.Policy(j, received, p))
}

func TestEachJurisdictionsDueAndExtendedDates(t *testing.T) {
	received := day(2025, time.March, 3)
	for _, c := range []struct {
		j             domain.Jurisdiction
		due, extended time.Time
	}{
		{domain.JurisdictionGDPR, day(2025, time.April, 3), day(2025, time.June, 3)},
		{domain.JurisdictionCCPA, day(2025, time.April, 17), day(2025, time.June, 1)},
		{domain.JurisdictionVCDPA, day(2025, time.April, 17), day(2025, time.June, 1)},
		{domain.JurisdictionCPA, day(2025, time.April, 17), day(2025, time.June, 1)},
		{domain.JurisdictionCTDPA, day(2025, time.April, 17), day(2025, time.June, 1)},
		{domain.JurisdictionDefault, day(2025, time.April, 2), day(2025, time.May, 2)},
	} {
		due, extended := dates(c.j, received, domain.DeadlinePolicy{})
		if !due.Equal(c.due) || !extended.Equal(c.extended) {
			t.Errorf("%s: got due %v, extended %v; want %v, %v", c.j, due, extended, c.due, c.extended)
		}
	}
}

func TestGDPRExtensionCountsFromTheClampedDueDate(t *testing.T) {
	due, extended := dates(domain.JurisdictionGDPR, day(2025, time.January, 31), domain.DeadlinePolicy{})
	same(t, due, day(2025, time.February, 28))
	same(t, extended, day(2025, time.April, 28))
}

func TestDefaultDaysReplaceTheDefaultJurisdictionsPeriods(t *testing.T) {
	due, extended := dates(domain.JurisdictionDefault, day(2025, time.January, 1), domain.DeadlinePolicy{DefaultDays: 10})
	same(t, due, day(2025, time.January, 11))
	same(t, extended, day(2025, time.January, 21))
}

func TestOnlyCCPASetsAnAcknowledgementDeadline(t *testing.T) {
	for _, j := range domain.AllJurisdictions() {
		_, ok := domain.BuiltinJurisdictions().For(j, domain.DeadlinePolicy{}).AcknowledgeBy(day(2025, time.January, 3))
		if ok != (j == domain.JurisdictionCCPA) {
			t.Errorf("%s: acknowledgement deadline %v", j, ok)
		}
	}
}

func TestAppealPeriodsFollowTheStatutes(t *testing.T) {
	tab := domain.BuiltinJurisdictions()
	for j, want := range map[domain.Jurisdiction]int{domain.JurisdictionVCDPA: 60, domain.JurisdictionCPA: 45, domain.JurisdictionCTDPA: 60} {
		a := tab.For(j, domain.DeadlinePolicy{}).Appeal
		if a == nil || a.Response.Days != want || a.Response.Source == "" {
			t.Errorf("%s: appeal %+v, want a %d-day answer with its source", j, a, want)
		}
	}
	if ext := tab.For(domain.JurisdictionCPA, domain.DeadlinePolicy{}).Appeal.Extension; ext == nil || ext.Days != 60 {
		t.Errorf("cpa: appeal extension %+v, want 60 days", ext)
	}
	if a := tab.For(domain.JurisdictionGDPR, domain.DeadlinePolicy{}).Appeal; a != nil {
		t.Errorf("gdpr: appeal %+v, want none", a)
	}
}

// Inputs recorded before the table carry no extension rule and must extend exactly as the
// code did then, or their replays diverge.
func TestPolicyWithoutARuleExtendsAsBeforeTheTable(t *testing.T) {
	old := domain.DeadlinePolicy{DefaultDays: 20}
	same(t, domain.ExtendedDueDate(domain.JurisdictionGDPR, day(2025, time.December, 31), old), day(2026, time.February, 28))
	same(t, domain.ExtendedDueDate(domain.JurisdictionCCPA, day(2025, time.February, 15), old), day(2025, time.April, 1))
	same(t, domain.ExtendedDueDate(domain.JurisdictionDefault, day(2025, time.January, 31), old), day(2025, time.February, 20))
	same(t, domain.ExtendedDueDate(domain.JurisdictionDefault, day(2025, time.January, 31), domain.DeadlinePolicy{}), day(2025, time.March, 2))
}

func TestOverrideReplacesOnlyTheJurisdictionsItNames(t *testing.T) {
	tab, err := domain.BuiltinJurisdictions().Override("over.yaml", []byte(`
cpa:
  name: CPA
  response: {days: 30, source: "test"}
  extension: {days: 15, from: receipt, source: "test"}
`))
	if err != nil {
		t.Fatal(err)
	}
	received := day(2025, time.March, 1)
	cpa := tab.For(domain.JurisdictionCPA, domain.DeadlinePolicy{})
	same(t, cpa.DueDate(received), day(2025, time.March, 31))
	same(t, domain.ExtendedDueDate(domain.JurisdictionCPA, cpa.DueDate(received), tab.Policy(domain.JurisdictionCPA, received, domain.DeadlinePolicy{})), day(2025, time.March, 16))
	same(t, tab.For(domain.JurisdictionCCPA, domain.DeadlinePolicy{}).DueDate(received), day(2025, time.April, 15))
}

func TestBadJurisdictionFilesAreRefusedWithFileAndLine(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown key", "gdpr:\n  name: GDPR\n  respnse: {months: 1, source: x}\n", "bad.yaml:3: field respnse not found"},
		{"missing response", "gdpr:\n  name: GDPR\n", "bad.yaml:1: gdpr.response: is required"},
		{"negative period", "ccpa:\n  name: CCPA\n  response:\n    days: -45\n    source: x\n", "bad.yaml:3: ccpa.response: a period must not be negative"},
		{"missing source", "ccpa:\n  name: CCPA\n  response:\n    days: 45\n", "bad.yaml:3: ccpa.response.source: is required"},
		{"bad origin", "ccpa:\n  name: CCPA\n  response: {days: 45, source: x}\n  extension:\n    days: 45\n    source: x\n    from: tomorrow\n", "bad.yaml:7: ccpa.extension.from: want due_date or receipt"},
		{"not a mapping", "gdpr: 1\n", "bad.yaml:1: cannot unmarshal"},
		{"unknown jurisdiction", "lgpd:\n  name: LGPD\n  response: {days: 15, source: x}\n", "bad.yaml:1: lgpd: unknown jurisdiction"},
		{"syntax", "gdpr: [\n", "bad.yaml:"},
		{"empty", "", "bad.yaml:1: no jurisdictions"},
	} {
		_, err := domain.BuiltinJurisdictions().Override("bad.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// A policy recorded in a workflow input before the table decodes with no rule, and one
// recorded since keeps its rule through the engine's JSON.
func TestPolicyRecordedBeforeTheTableDecodesWithoutARule(t *testing.T) {
	var old domain.DeadlinePolicy
	if err := json.Unmarshal([]byte(`{"DefaultDays":30}`), &old); err != nil || old.Extension != nil {
		t.Fatalf("got %+v, %v; want no extension rule", old, err)
	}
	same(t, domain.ExtendedDueDate(domain.JurisdictionGDPR, day(2025, time.January, 31), old), day(2025, time.March, 31))

	recorded, err := json.Marshal(domain.BuiltinJurisdictions().Policy(domain.JurisdictionCTDPA, day(2025, time.March, 3), domain.DeadlinePolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	var replayed domain.DeadlinePolicy
	if err := json.Unmarshal(recorded, &replayed); err != nil {
		t.Fatal(err)
	}
	same(t, domain.ExtendedDueDate(domain.JurisdictionCTDPA, day(2025, time.April, 17), replayed), day(2025, time.June, 1))
}

func TestEveryProblemOfAJurisdictionsFileIsListedInLineOrder(t *testing.T) {
	_, err := domain.BuiltinJurisdictions().Override("bad.yaml", []byte("gdpr:\n  name: GDPR\nccpa:\n  name: CCPA\nvcdpa:\n  name: VCDPA\n"))
	var problems *domain.JurisdictionError
	if !errors.As(err, &problems) || len(problems.Problems) != 6 ||
		!strings.HasPrefix(problems.Problems[0], "bad.yaml:1: gdpr.response") || !strings.HasPrefix(problems.Problems[5], "bad.yaml:5: vcdpa.response") {
		t.Errorf("got %v, want two problems of each entry (response and its source) in line order", err)
	}
}
