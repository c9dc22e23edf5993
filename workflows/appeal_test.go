package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/workflows"
)

// appealHarness runs the appeal workflow with its activities replaced by fakes that record
// what it asked for.
type appealHarness struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	in      workflows.AppealInput
	steps   []activities.RecordAppealStepInput
	notices []mail.Notice
	alerts  []activities.AlertAppealInput
	alertAt []time.Time
}

var (
	refuser  = workflows.Actor{Name: "ana", Role: domain.RoleAnalyst, ID: "tok-ana"}
	reviewer = workflows.Actor{Name: "bob", Role: domain.RoleAnalyst, ID: "tok-bob"}
)

func newAppealHarness(t *testing.T, j domain.Jurisdiction) *appealHarness {
	var s testsuite.WorkflowTestSuite
	h := &appealHarness{t: t, env: s.NewTestWorkflowEnvironment()}
	h.env.SetStartTime(start)
	rules := domain.BuiltinJurisdictions().For(j, domain.DeadlinePolicy{})
	h.in = workflows.AppealInput{
		RequestID: "r1", RequestStatus: domain.StatusDenied, ReceivedAt: start,
		DueAt: rules.AppealDueDate(start), Extension: rules.AppealExtensionRule(start),
		RefusedByID: refuser.ID, Regulator: *rules.Regulator,
	}
	h.env.RegisterActivity(a)
	h.env.OnActivity(a.RecordAppealStep, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RecordAppealStepInput) error {
		h.steps = append(h.steps, in)
		return nil
	})
	h.env.OnActivity(a.SendNotice, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SendNoticeInput) error {
		h.notices = append(h.notices, in.Notice)
		return nil
	})
	h.env.OnActivity(a.AlertAppeal, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AlertAppealInput) error {
		h.alerts = append(h.alerts, in)
		h.alertAt = append(h.alertAt, h.env.Now())
		return nil
	})
	return h
}

// at sends an update d after the start and returns what became of it.
func (h *appealHarness) at(d time.Duration, name string, arg any) *outcome {
	o := &outcome{}
	h.env.RegisterDelayedCallback(func() { h.env.UpdateWorkflow(name, "", o, arg) }, d)
	return o
}

func (h *appealHarness) run() workflows.AppealResult {
	h.env.ExecuteWorkflow(workflows.Appeal, h.in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("the appeal did not finish")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("appeal failed: %v", err)
	}
	var res workflows.AppealResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *appealHarness) actions() []string {
	var out []string
	for _, s := range h.steps {
		out = append(out, s.Action)
	}
	return out
}

func refusalKind(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func TestAppealDecidedByTheRefuserIsRefusedAndBySomeoneElseIsDenied(t *testing.T) {
	h := newAppealHarness(t, domain.JurisdictionVCDPA)
	// Same token as the refuser, under another name: still the same person.
	byRefuser := h.at(time.Hour, workflows.UpdateDecideAppeal, workflows.DecideAppealInput{
		Actor: workflows.Actor{Name: "Ana B.", Role: domain.RoleAdmin, ID: refuser.ID}, Reason: "I stand by it."})
	bySecond := h.at(2*time.Hour, workflows.UpdateDecideAppeal, workflows.DecideAppealInput{Actor: reviewer, Reason: "The records are kept under tax law."})
	res := h.run()

	if got, want := refusalKind(byRefuser.rejected), workflows.RefusalTypePrefix+workflows.RefusalSameStaff; got != want {
		t.Fatalf("decision by the refuser: got refusal %q (%v), want %q", got, byRefuser.rejected, want)
	}
	if bySecond.rejected != nil || bySecond.err != nil {
		t.Fatalf("decision by a second staff member: rejected %v, err %v", bySecond.rejected, bySecond.err)
	}
	if res.Status != domain.AppealDenied || !res.DecidedAt.Equal(start.Add(2*time.Hour)) {
		t.Fatalf("got %+v, want denied at %v", res, start.Add(2*time.Hour))
	}
	last := h.steps[len(h.steps)-1]
	if last.Action != "appeal_denied" || last.Actor != reviewer.Name || *last.Patch.DecidedByID != reviewer.ID || last.Status != domain.StatusDenied {
		t.Fatalf("decision step: %+v", last)
	}
	if len(h.notices) != 1 || h.notices[0].Kind != mail.KindAppealDecision {
		t.Fatalf("notices: %+v", h.notices)
	}
	got := h.notices[0].Data.(mail.AppealDecision)
	if got.Granted || got.RegulatorName != "Office of the Attorney General of Virginia" || got.RegulatorURL == "" {
		t.Fatalf("a denied appeal's notice must name the regulator: %+v", got)
	}
}

func TestAppealGrantedTellsThePersonWithoutTheRegulator(t *testing.T) {
	h := newAppealHarness(t, domain.JurisdictionCTDPA)
	h.in.RefusedByID = "" // the system refused: any staff member may decide
	h.at(time.Hour, workflows.UpdateDecideAppeal, workflows.DecideAppealInput{Actor: refuser, Granted: true, Reason: "We were wrong."})
	res := h.run()
	if res.Status != domain.AppealGranted {
		t.Fatalf("got %+v", res)
	}
	got := h.notices[0].Data.(mail.AppealDecision)
	if !got.Granted || got.RegulatorName != "" {
		t.Fatalf("notice: %+v", got)
	}
}

func TestAppealDeadlineAlertsAtThreeQuartersThenRecordsItOverdue(t *testing.T) {
	h := newAppealHarness(t, domain.JurisdictionVCDPA)
	due := start.AddDate(0, 0, 60)
	if !h.in.DueAt.Equal(due) {
		t.Fatalf("Virginia's appeal is due in 60 days: got %v", h.in.DueAt)
	}
	h.at(70*24*time.Hour, workflows.UpdateDecideAppeal, workflows.DecideAppealInput{Actor: reviewer, Granted: true, Reason: "Late, but right."})
	res := h.run()

	if len(h.alerts) != 2 || h.alerts[0].Overdue || !h.alerts[1].Overdue {
		t.Fatalf("alerts: %+v", h.alerts)
	}
	if want := domain.AlertAt(start, due); !h.alertAt[0].Equal(want) || !h.alertAt[1].Equal(due) {
		t.Fatalf("alerts at %v, want %v and %v", h.alertAt, want, due)
	}
	if got, want := h.actions(), []string{"appealed", "appeal_overdue", "appeal_granted"}; !equalStrings(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	if !res.Overdue {
		t.Fatal("the result does not say the appeal went overdue")
	}
}

func TestColoradoAppealExtendsOnceBySixtyDays(t *testing.T) {
	h := newAppealHarness(t, domain.JurisdictionCPA)
	first := h.at(24*time.Hour, workflows.UpdateExtendAppeal, workflows.ExtendAppealInput{Actor: reviewer, Reason: "Many systems to check."})
	again := h.at(48*time.Hour, workflows.UpdateExtendAppeal, workflows.ExtendAppealInput{Actor: reviewer, Reason: "More."})
	h.at(50*24*time.Hour, workflows.UpdateDecideAppeal, workflows.DecideAppealInput{Actor: reviewer, Reason: "Kept under law."})
	res := h.run()

	if first.rejected != nil || first.err != nil {
		t.Fatalf("first extension: %v %v", first.rejected, first.err)
	}
	if again.rejected == nil {
		t.Fatal("a second extension was accepted")
	}
	if want := start.AddDate(0, 0, 45+60); !res.DueAt.Equal(want) || !res.Extended {
		t.Fatalf("got due %v extended %v, want %v", res.DueAt, res.Extended, want)
	}
	if res.Overdue || len(h.alerts) != 0 {
		t.Fatalf("decided on day 50 of 105: overdue %v, alerts %+v", res.Overdue, h.alerts)
	}
	if h.notices[0].Kind != mail.KindExtension || !h.notices[0].Data.(mail.Extension).Appeal {
		t.Fatalf("the person is told of the extension: %+v", h.notices)
	}
}

func TestVirginiaAppealAllowsNoExtension(t *testing.T) {
	h := newAppealHarness(t, domain.JurisdictionVCDPA)
	ext := h.at(time.Hour, workflows.UpdateExtendAppeal, workflows.ExtendAppealInput{Actor: reviewer, Reason: "More time."})
	h.at(2*time.Hour, workflows.UpdateDecideAppeal, workflows.DecideAppealInput{Actor: reviewer, Reason: "No."})
	h.run()
	if ext.rejected == nil {
		t.Fatal("an extension Virginia's table does not allow was accepted")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
