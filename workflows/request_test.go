package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/workflows"
)

const goodCode = "123456"

var (
	start   = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	salt    = []byte("0123456789abcdef")
	analyst = workflows.Actor{Name: "ana", Role: domain.RoleAnalyst}
	second  = workflows.Actor{Name: "bob", Role: domain.RoleAnalyst}
	a       *activities.Activities
)

// outcome captures what became of one update.
type outcome struct {
	rejected error
	result   any
	err      error
	done     bool
	// clock tells the workflow time; doneAt is when the update answered.
	clock  func() time.Time
	doneAt time.Time
}

func (o *outcome) Accept()          {}
func (o *outcome) Reject(err error) { o.rejected, o.done = err, true; o.stamp() }
func (o *outcome) Complete(res any, err error) {
	o.result, o.err, o.done = res, err, true
	o.stamp()
}

func (o *outcome) stamp() {
	if o.clock != nil {
		o.doneAt = o.clock()
	}
}

// harness runs the request workflow with its activities replaced by fakes that record
// what the workflow asked for.
type harness struct {
	mu         sync.Mutex
	t          *testing.T
	env        *testsuite.TestWorkflowEnvironment
	in         workflows.RequestInput
	notices    []mail.Kind
	steps      []activities.RecordStepInput
	codes      int
	matched    int
	holder     string
	alerts     []time.Time
	storeFails map[string]int
	// storeFlaky counts down failures that running the store again may cure.
	storeFlaky map[string]int
	storeRuns  []string
	issueDelay time.Duration
	// distinctCodes makes code n "00000n" instead of every code being goodCode.
	distinctCodes   bool
	stores          []string
	recipientStores []string
	// later are stores that answer by callback or task.
	later      map[string]bool
	recorded   []string
	suppressed int
	// storeResult, when set, is every store's result.
	storeResult *connector.Result
	// checksDownUntil is when the stores that check data points answer again.
	checksDownUntil time.Time
	// mailDownUntil is when the mail server takes the code's mail again.
	mailDownUntil time.Time
	checks        int
}

func newHarness(t *testing.T, typ domain.RequestType) *harness {
	var s testsuite.WorkflowTestSuite
	h := &harness{t: t, env: s.NewTestWorkflowEnvironment(), storeFails: map[string]int{}, storeFlaky: map[string]int{}, stores: []string{"crm", "shop"}, later: map[string]bool{}}
	h.env.SetStartTime(start)
	h.in = workflows.RequestInput{
		RequestID: "r1", Type: typ, Jurisdiction: domain.JurisdictionGDPR, ReceivedAt: start,
		DueAt:        domain.DueDate(domain.JurisdictionGDPR, start, domain.DeadlinePolicy{}),
		Identity:     domain.DefaultIdentityPolicy().Rule(typ),
		Verification: workflows.DefaultVerificationSettings(),
	}
	h.env.RegisterActivity(a)
	h.env.OnActivity(a.RecordSteps, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RecordStepsInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.steps = append(h.steps, in.Steps...)
		return nil
	})
	h.env.OnActivity(a.RecordStep, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RecordStepInput) error {
		h.steps = append(h.steps, in)
		return nil
	})
	h.env.OnActivity(a.IssueCode, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.IssueCodeInput) (activities.IssueCodeResult, error) {
		if h.env.Now().Before(h.mailDownUntil) {
			return activities.IssueCodeResult{}, errors.New("smtp send: connection failed: connect: connection refused")
		}
		h.codes++
		code := goodCode
		if h.distinctCodes {
			code = fmt.Sprintf("00000%d", in.Number)
			if in.Number > 1 {
				time.Sleep(h.issueDelay)
			}
		}
		return activities.IssueCodeResult{Hash: domain.HashCode(salt, code), Salt: salt}, nil
	})
	h.env.OnActivity(a.SendNotice, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SendNoticeInput) error {
		h.notices = append(h.notices, in.Notice.Kind)
		return nil
	})
	h.env.OnActivity(a.AlertTeam, mock.Anything, mock.Anything).Return(func(context.Context, activities.AlertTeamInput) error {
		h.alerts = append(h.alerts, h.env.Now())
		return nil
	})
	h.env.OnActivity(a.CheckIdentity, mock.Anything, mock.Anything).Return(func(context.Context, activities.CheckIdentityInput) (activities.CheckIdentityResult, error) {
		h.checks++
		if h.env.Now().Before(h.checksDownUntil) {
			return activities.CheckIdentityResult{}, errors.New("check data points: store crm: match data points: database is locked")
		}
		return activities.CheckIdentityResult{Matched: h.matched}, nil
	})
	h.env.OnActivity(a.ClaimRequest, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ClaimInput) (activities.ClaimResult, error) {
		if h.holder != "" {
			return activities.ClaimResult{Holder: h.holder}, nil
		}
		return activities.ClaimResult{Holder: in.RequestID}, nil
	})
	h.env.OnActivity(a.ReleaseClaim, mock.Anything, mock.Anything).Return(nil)
	h.env.OnActivity(a.AddToSuppressionList, mock.Anything, mock.Anything).Return(func(context.Context, activities.ClaimInput) error {
		h.suppressed++
		return nil
	})
	h.env.OnActivity(a.RecordStoreResult, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RecordStoreResultInput) (activities.RunStoreResult, error) {
		h.recorded = append(h.recorded, in.Store)
		return activities.RunStoreResult{Result: in.Result}, nil
	})
	h.env.OnActivity(a.NotifyRecipients, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.NotifyRecipientsInput) ([]activities.RecipientNotice, error) {
		h.recipientStores = in.Stores
		return []activities.RecipientNotice{{Name: "Affiliate AS", Channel: "email", Status: "sent"}}, nil
	})
	h.env.OnActivity(a.ListStores, mock.Anything, mock.Anything).Return(func(context.Context, activities.ListStoresInput) ([]string, error) { return h.stores, nil })
	h.env.OnActivity(a.RunStores, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RunStoresInput) ([]activities.StoreRun, error) {
		out := make([]activities.StoreRun, len(in.Stores))
		for i, s := range in.Stores {
			out[i] = h.runStore(s)
		}
		return out, nil
	})
	h.env.OnActivity(a.PlanStores, mock.Anything, mock.Anything).Return(func(context.Context, activities.PlanStoresInput) ([]activities.StorePlanned, error) {
		out := make([]activities.StorePlanned, len(h.stores))
		for i, s := range h.stores {
			out[i] = activities.StorePlanned{Store: s, SHA256: "plan-of-" + s}
		}
		return out, nil
	})
	return h
}

// runStore fakes one store: it answers later, fails while storeFails counts down, or
// finds and changes the name.
func (h *harness) runStore(store string) activities.StoreRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.storeRuns = append(h.storeRuns, store)
	if h.later[store] {
		return activities.StoreRun{Store: store, Pending: true}
	}
	if h.storeFails[store] > 0 {
		h.storeFails[store]--
		return activities.StoreRun{Store: store, Error: "connection refused"}
	}
	if h.storeFlaky[store] > 0 {
		h.storeFlaky[store]--
		return activities.StoreRun{Store: store, Error: "connection reset", Retryable: true}
	}
	plan := ""
	if h.in.Type.Planned() {
		plan = "plan-of-" + store
	}
	if h.storeResult != nil {
		return activities.StoreRun{Store: store, Result: *h.storeResult, PlanSHA256: plan}
	}
	return activities.StoreRun{Store: store, Result: connector.Result{Store: store, Found: []string{"name"}, Changed: []string{"name"}}, PlanSHA256: plan}
}

// at sends an update after d of workflow time.
func (h *harness) at(d time.Duration, name string, args ...any) *outcome {
	o := &outcome{clock: h.env.Now}
	h.env.RegisterDelayedCallback(func() { h.env.UpdateWorkflow(name, "", o, args...) }, d)
	return o
}

func (h *harness) run() workflows.RequestState {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.Request, h.in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatal(err)
	}
	var st workflows.RequestState
	if err := h.env.GetWorkflowResult(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

// state queries the workflow's state; call it from a delayed callback.
func (h *harness) state() workflows.RequestState {
	h.t.Helper()
	var st workflows.RequestState
	v, err := h.env.QueryWorkflow(workflows.QueryState)
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		h.t.Error(err)
	}
	return st
}

func (h *harness) statuses() []domain.Status {
	var out []domain.Status
	for _, s := range h.steps {
		if len(out) == 0 || out[len(out)-1] != s.To {
			out = append(out, s.To)
		}
	}
	return out
}

func verify(code string) workflows.VerifyEmailInput { return workflows.VerifyEmailInput{Code: code} }

func wantStatus(t *testing.T, st workflows.RequestState, want domain.Status) {
	t.Helper()
	if st.Status != want {
		t.Fatalf("status = %s (%s), want %s", st.Status, st.StatusReason, want)
	}
}

func wantNotices(t *testing.T, h *harness, want ...mail.Kind) {
	t.Helper()
	if !slices.Equal(h.notices, want) {
		t.Errorf("notices = %v, want %v", h.notices, want)
	}
}

func TestReviewWithMatchingDataPointsCompletes(t *testing.T) {
	h := newHarness(t, domain.TypeReview)
	h.matched = 2
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	id := h.at(2*time.Minute, workflows.UpdateSubmitIdentity, workflows.SubmitIdentityInput{Answers: map[string]string{"postal_code": "x", "phone_last4": "1234"}})
	st := h.run()
	wantStatus(t, st, domain.StatusCompleted)
	if id.result.(workflows.SubmitIdentityResult).Verified != true || st.IdentityMethod != "data_points" {
		t.Errorf("identity = %+v, method %s", id.result, st.IdentityMethod)
	}
	want := []domain.Status{domain.StatusReceived, domain.StatusAwaitingEmailVerification,
		domain.StatusAwaitingIdentityVerification, domain.StatusInProgress, domain.StatusCompleted}
	if got := h.statuses(); !slices.Equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	wantNotices(t, h, mail.KindAcknowledgement, mail.KindCompletion)
	if len(st.Stores) != 2 || !st.Stores[0].Done || !st.Stores[1].Done {
		t.Errorf("stores = %+v, want both done", st.Stores)
	}
}

func TestRestrictNeedsOnlyTheMailbox(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	st := h.run()
	wantStatus(t, st, domain.StatusCompleted)
	if st.IdentityMethod != "mailbox" || slices.Contains(h.statuses(), domain.StatusAwaitingIdentityVerification) {
		t.Errorf("restrict asked for more than the mailbox: %v", h.statuses())
	}
}

func TestSuppressWithDataPointsCompletesAndListsTheAddress(t *testing.T) {
	h := newHarness(t, domain.TypeSuppress)
	h.matched = 3
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(time.Hour, workflows.UpdateSubmitIdentity, workflows.SubmitIdentityInput{Answers: map[string]string{"order_number": "A-1"}})
	wantStatus(t, h.run(), domain.StatusCompleted)
	// The address goes on the list with the completed step, in its transaction.
	var listed []string
	for _, s := range h.steps {
		if s.Patch.Suppress {
			listed = append(listed, s.Action)
		}
	}
	if !slices.Equal(listed, []string{"completed"}) || h.suppressed != 0 {
		t.Errorf("steps that list the address = %v and separate additions = %d, want the completed step alone", listed, h.suppressed)
	}
}

// Every way a request closes releases its duplicate claim with the closing step.
func TestTheClosingStepReleasesTheClaim(t *testing.T) {
	for name, run := range map[string]func(h *harness){
		"completed": func(h *harness) { h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode)) },
		"expired":   func(h *harness) {},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, domain.TypeRestrict)
			run(h)
			h.run()
			last := h.steps[len(h.steps)-1]
			for _, s := range h.steps {
				if s.Patch.ReleaseClaim != (s.Seq == last.Seq) {
					t.Errorf("step %s releases the claim: %v", s.Action, s.Patch.ReleaseClaim)
				}
			}
			if last.Action != name {
				t.Errorf("last step %s, want %s", last.Action, name)
			}
		})
	}
}

func TestCorrectAndUpdateWaitForAnAnalystsApproval(t *testing.T) {
	for _, typ := range []domain.RequestType{domain.TypeCorrect, domain.TypeUpdate} {
		t.Run(string(typ), func(t *testing.T) {
			h := newHarness(t, typ)
			h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
			requester := h.at(time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: workflows.Actor{Name: "me", Role: domain.RoleRequester}})
			approve := h.at(48*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: analyst, Reason: "looks right"})
			st := h.run()
			wantStatus(t, st, domain.StatusCompleted)
			if requester.rejected == nil {
				t.Error("a requester was allowed to approve")
			}
			if approve.rejected != nil || st.ApprovedBy != "ana" {
				t.Errorf("approval: %v, approved by %q", approve.rejected, st.ApprovedBy)
			}
		})
	}
}

func TestAnalystDenialEndsTheRequestWithANotice(t *testing.T) {
	h := newHarness(t, domain.TypeCorrect)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	noReason := h.at(time.Hour, workflows.UpdateDeny, workflows.DenyInput{Actor: analyst, Reason: " "})
	h.at(2*time.Hour, workflows.UpdateDeny, workflows.DenyInput{Actor: analyst, Reason: "the new value contradicts our records"})
	st := h.run()
	wantStatus(t, st, domain.StatusDenied)
	if noReason.rejected == nil {
		t.Error("a denial without a reason was accepted")
	}
	if st.StatusReason != "the new value contradicts our records" {
		t.Errorf("reason = %q", st.StatusReason)
	}
	wantNotices(t, h, mail.KindAcknowledgement, mail.KindDenial)
}

func TestChildErasureSkipsTheMailboxAndNeedsASecondStaffMember(t *testing.T) {
	h := newHarness(t, domain.TypeChildErasure)
	h.in.OpenedBy = "ana"
	self := h.at(time.Minute, workflows.UpdateApprove, workflows.ApproveInput{Actor: analyst, Reason: ""})
	other := h.at(time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: second, Reason: ""})
	st := h.run()
	wantStatus(t, st, domain.StatusCompleted)
	if self.rejected == nil || other.rejected != nil {
		t.Errorf("self-approval rejected=%v, second approval rejected=%v", self.rejected, other.rejected)
	}
	if h.codes != 0 || len(h.notices) != 0 {
		t.Errorf("staff-opened request mailed the address: %d codes, notices %v", h.codes, h.notices)
	}
}

// The second approver is a different principal: not the opener's token, nor a token whose
// name differs from the opener's only in case or spacing.
func TestChildErasureOpenerCannotApproveUnderAnotherSpellingOrName(t *testing.T) {
	opener := workflows.Actor{ID: "tok-1", Name: "analyst2", Role: domain.RoleAnalyst}
	for _, tc := range []struct {
		name     string
		openerID string // empty: a request started before the ID was recorded
		approver workflows.Actor
		refused  bool
	}{
		{"same token", opener.ID, opener, true},
		{"the opener's name in other case", opener.ID, workflows.Actor{ID: "tok-2", Name: "Analyst2", Role: domain.RoleAdmin}, true},
		{"the opener's name with spaces", opener.ID, workflows.Actor{ID: "tok-3", Name: " ANALYST2 ", Role: domain.RoleAnalyst}, true},
		{"the opener's token under another name", opener.ID, workflows.Actor{ID: "tok-1", Name: "someone", Role: domain.RoleAnalyst}, true},
		{"another staff member", opener.ID, workflows.Actor{ID: "tok-4", Name: "bob", Role: domain.RoleAnalyst}, false},
		{"older request, name in other case", "", workflows.Actor{Name: "Analyst2", Role: domain.RoleAnalyst}, true},
		{"older request, another staff member", "", workflows.Actor{Name: "bob", Role: domain.RoleAnalyst}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, domain.TypeChildErasure)
			h.in.OpenedBy, h.in.OpenedByID = opener.Name, tc.openerID
			try := h.at(time.Minute, workflows.UpdateApprove, workflows.ApproveInput{Actor: tc.approver})
			h.at(time.Hour, workflows.UpdateCancel, workflows.CancelInput{Actor: second, Reason: "test over"})
			h.run()
			if refused := try.rejected != nil; refused != tc.refused {
				t.Errorf("approval by %+v refused = %v (%v), want %v", tc.approver, refused, try.rejected, tc.refused)
			}
		})
	}
}

func TestFiveWrongCodesLockTheCodeUntilANewOneIsSent(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	var wrong []*outcome
	for i := range 5 {
		wrong = append(wrong, h.at(time.Duration(i+1)*time.Second, workflows.UpdateVerifyEmail, verify("000000")))
	}
	locked := h.at(10*time.Second, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(5*time.Minute, workflows.UpdateResendCode)
	fresh := h.at(6*time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	st := h.run()
	for i, o := range wrong[:4] {
		if r := o.result.(workflows.VerifyEmailResult); r.Result != domain.CheckWrongCode || r.AttemptsLeft != 4-i {
			t.Errorf("attempt %d = %+v, want wrong code with %d left", i+1, r, 4-i)
		}
	}
	if r := wrong[4].result.(workflows.VerifyEmailResult); r.Result != domain.CheckLocked {
		t.Errorf("fifth wrong attempt = %+v, want locked", r)
	}
	if r := locked.result.(workflows.VerifyEmailResult); r.Result != domain.CheckLocked {
		t.Errorf("right code after lockout = %+v, want locked", r)
	}
	if r := fresh.result.(workflows.VerifyEmailResult); r.Result != domain.CheckConfirmed {
		t.Errorf("new code = %+v, want confirmed", r)
	}
	if h.codes != 2 {
		t.Errorf("codes issued = %d, want 2", h.codes)
	}
	wantStatus(t, st, domain.StatusCompleted)
}

func TestResendIsRefusedDuringTheCooldown(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	early := h.at(10*time.Second, workflows.UpdateResendCode)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.run()
	if early.rejected == nil || h.codes != 1 {
		t.Errorf("resend after 10s: rejected=%v, codes=%d", early.rejected, h.codes)
	}
}

// A page says a refusal in the reader's language by its kind, which travels as the type of
// the refusal's application error.
func TestRefusalsCarryTheirKind(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	early := h.at(10*time.Second, workflows.UpdateResendCode)
	short := h.at(20*time.Second, workflows.UpdateVerifyEmail, verify("12"))
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	answers := h.at(15*time.Second, workflows.UpdateSubmitIdentity, workflows.SubmitIdentityInput{Answers: map[string]string{"postal_code": "1"}})
	h.run()
	for name, c := range map[string]struct {
		o    *outcome
		kind string
	}{"resend": {early, workflows.RefusalResendTooSoon}, "short code": {short, workflows.RefusalCodeFormat}, "identity before the code": {answers, workflows.RefusalNotNow}} {
		var appErr *temporal.ApplicationError
		if !errors.As(c.o.rejected, &appErr) || appErr.Type() != workflows.RefusalTypePrefix+c.kind {
			t.Errorf("%s: rejected with %v, want a refusal of kind %s", name, c.o.rejected, c.kind)
		}
	}
}

func TestCodeExpiresAfterItsLife(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	late := h.at(31*time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(32*time.Minute, workflows.UpdateResendCode)
	h.at(33*time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	wantStatus(t, h.run(), domain.StatusCompleted)
	if r := late.result.(workflows.VerifyEmailResult); r.Result != domain.CheckExpired {
		t.Errorf("code after 31 minutes = %+v, want expired", r)
	}
}

func TestUnconfirmedRequestExpiresAfterSevenDaysWithOneReminder(t *testing.T) {
	h := newHarness(t, domain.TypeReview)
	st := h.run()
	wantStatus(t, st, domain.StatusExpired)
	wantNotices(t, h, mail.KindReminder)
	if got := h.env.Now().Sub(start); got < 7*24*time.Hour || got > 7*24*time.Hour+time.Minute {
		t.Errorf("expired after %s, want 7 days", got)
	}
}

func TestIdentityNotMatchedAfterThreeAttemptsIsDenied(t *testing.T) {
	h := newHarness(t, domain.TypeReview)
	h.matched = 1
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	answers := workflows.SubmitIdentityInput{Answers: map[string]string{"postal_code": "nope"}}
	var tries []*outcome
	for i := range 4 {
		tries = append(tries, h.at(time.Duration(i+2)*time.Minute, workflows.UpdateSubmitIdentity, answers))
	}
	st := h.run()
	wantStatus(t, st, domain.StatusDenied)
	if tries[2].result.(workflows.SubmitIdentityResult).AttemptsLeft != 0 || tries[3].done && tries[3].rejected == nil {
		t.Errorf("attempts: %+v / fourth %+v", tries[2].result, tries[3])
	}
	wantNotices(t, h, mail.KindAcknowledgement, mail.KindDenial)
}

// A store that cannot answer compares no data points, so the attempt is not used: the
// requester is told to try again (ErrorUnavailable, which the API answers with 503), and
// told so while the API still waits for the answer (30 s, internal/requests updateTimeout).
// A check that outlived that wait and then counted would use an attempt the requester was
// told had failed.
func TestIdentityCheckThatNoStoreAnswersLeavesTheAttempts(t *testing.T) {
	const apiWait = 30 * time.Second
	h := newHarness(t, domain.TypeReview)
	h.matched = 2
	submitAt := 2 * time.Minute
	// A store locked until the API has given up waiting: a check still retrying then
	// would succeed and count.
	h.checksDownUntil = start.Add(submitAt + apiWait)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	answers := workflows.SubmitIdentityInput{Answers: map[string]string{"postal_code": "x", "phone_last4": "1234"}}
	locked := h.at(submitAt, workflows.UpdateSubmitIdentity, answers)
	var during workflows.RequestState
	h.env.RegisterDelayedCallback(func() { during = h.state() }, 30*time.Minute)
	again := h.at(time.Hour, workflows.UpdateSubmitIdentity, answers)
	st := h.run()
	wantStatus(t, st, domain.StatusCompleted)
	var appErr *temporal.ApplicationError
	if !errors.As(locked.err, &appErr) || appErr.Type() != workflows.ErrorUnavailable {
		t.Errorf("submit while a store was locked = %+v, %v; want a failure of type %s", locked.result, locked.err, workflows.ErrorUnavailable)
	}
	if took := locked.doneAt.Sub(start.Add(submitAt)); !locked.done || took >= apiWait {
		t.Errorf("submit while a store was locked answered after %s, want within the API's %s", took, apiWait)
	}
	if during.IdentityAttempts != 3 || during.Status != domain.StatusAwaitingIdentityVerification {
		t.Errorf("after the failed check: %s with %d attempts, want awaiting identity with 3", during.Status, during.IdentityAttempts)
	}
	if r, ok := again.result.(workflows.SubmitIdentityResult); !ok || !r.Verified || r.AttemptsLeft != 2 {
		t.Errorf("submit once the stores answer = %+v, %v; want verified with 2 attempts left", again.result, again.err)
	}
	checked, fewest := 0, 3
	for _, s := range h.steps {
		if s.Action == "identity_checked" {
			checked++
		}
		if s.Patch.Progress != nil {
			fewest = min(fewest, s.Patch.Progress.IdentityAttemptsLeft)
		}
	}
	if checked != 1 || fewest != 2 {
		t.Errorf("identity_checked steps = %d, fewest attempts left recorded = %d; want one check and 2", checked, fewest)
	}
}

func TestAnalystCanVerifyIdentityInsteadOfDataPoints(t *testing.T) {
	h := newHarness(t, domain.TypeSuppress)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(time.Hour, workflows.UpdateVerifyIdentity, workflows.VerifyIdentityInput{Actor: analyst, Reason: "called the customer"})
	st := h.run()
	wantStatus(t, st, domain.StatusCompleted)
	if st.IdentityMethod != "analyst" {
		t.Errorf("identity method = %q, want analyst", st.IdentityMethod)
	}
}

func TestExtensionMovesTheDueDateOnceAndTellsTheRequester(t *testing.T) {
	h := newHarness(t, domain.TypeCorrect)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	first := h.at(time.Hour, workflows.UpdateExtend, workflows.ExtendInput{Actor: analyst, Reason: "many systems to search"})
	again := h.at(2*time.Hour, workflows.UpdateExtend, workflows.ExtendInput{Actor: analyst, Reason: "still busy"})
	h.at(3*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: analyst, Reason: ""})
	st := h.run()
	if first.rejected != nil || again.rejected == nil {
		t.Errorf("first extension rejected=%v, second rejected=%v", first.rejected, again.rejected)
	}
	want := domain.ExtendedDueDate(domain.JurisdictionGDPR, h.in.DueAt, domain.DeadlinePolicy{})
	if !st.Extended || !st.DueAt.Equal(want) || !st.OriginalDueAt.Equal(h.in.DueAt) {
		t.Errorf("due %s (original %s), want %s", st.DueAt, st.OriginalDueAt, want)
	}
	wantNotices(t, h, mail.KindAcknowledgement, mail.KindExtension, mail.KindCompletion)
}

func TestExtensionAfterTheOriginalDueDateIsRefused(t *testing.T) {
	h := newHarness(t, domain.TypeCorrect)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	late := h.at(h.in.DueAt.Sub(start)+time.Hour, workflows.UpdateExtend, workflows.ExtendInput{Actor: analyst, Reason: "too late"})
	h.at(h.in.DueAt.Sub(start)+2*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: analyst, Reason: ""})
	h.run()
	if late.rejected == nil {
		t.Error("extension after the due date was accepted")
	}
}

func TestCancellationAtEveryWaitingStatus(t *testing.T) {
	cases := []struct {
		typ    domain.RequestType
		status domain.Status
		before []func(h *harness)
	}{
		{domain.TypeReview, domain.StatusAwaitingEmailVerification, nil},
		{domain.TypeReview, domain.StatusAwaitingIdentityVerification, []func(*harness){func(h *harness) { h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode)) }}},
		{domain.TypeCorrect, domain.StatusPendingReview, []func(*harness){func(h *harness) { h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode)) }}},
		{domain.TypeRestrict, domain.StatusNeedsAttention, []func(*harness){func(h *harness) {
			h.storeFails["shop"] = 1
			h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
		}}},
	}
	for _, tc := range cases {
		t.Run(string(tc.status), func(t *testing.T) {
			h := newHarness(t, tc.typ)
			for _, f := range tc.before {
				f(h)
			}
			var seen domain.Status
			h.env.RegisterDelayedCallback(func() {
				v, err := h.env.QueryWorkflow(workflows.QueryState)
				if err != nil {
					t.Error(err)
					return
				}
				var st workflows.RequestState
				v.Get(&st)
				seen = st.Status
			}, 2*time.Hour)
			c := h.at(3*time.Hour, workflows.UpdateCancel, workflows.CancelInput{Actor: analyst, Reason: "requester withdrew"})
			st := h.run()
			if seen != tc.status {
				t.Fatalf("status before cancelling = %s, want %s", seen, tc.status)
			}
			if c.rejected != nil {
				t.Fatalf("cancel rejected: %v", c.rejected)
			}
			wantStatus(t, st, domain.StatusCancelled)
		})
	}
}

// An authorized agent withdraws a request for its requester (DRP 1.0 section 2.04) as a
// named requester; neither an unnamed requester nor dsr's own role may cancel.
func TestANamedRequesterMayWithdrawARequest(t *testing.T) {
	h := newHarness(t, domain.TypeReview)
	unnamed := h.at(time.Hour, workflows.UpdateCancel, workflows.CancelInput{Actor: workflows.Actor{Role: domain.RoleRequester}, Reason: "no"})
	system := h.at(2*time.Hour, workflows.UpdateCancel, workflows.CancelInput{Actor: workflows.Actor{Name: "dsr", Role: domain.RoleSystem}, Reason: "no"})
	agent := h.at(3*time.Hour, workflows.UpdateCancel, workflows.CancelInput{Actor: workflows.Actor{Name: "authorized agent Example", Role: domain.RoleRequester}, Reason: "changed my mind"})
	st := h.run()
	if unnamed.rejected == nil || system.rejected == nil {
		t.Errorf("unnamed requester rejected: %v; system rejected: %v; want both refused", unnamed.rejected, system.rejected)
	}
	if agent.rejected != nil {
		t.Fatalf("the named requester's withdrawal was rejected: %v", agent.rejected)
	}
	wantStatus(t, st, domain.StatusCancelled)
}

func TestSecondRequestFromTheSameAddressJoinsTheFirst(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.holder = "r0"
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	st := h.run()
	wantStatus(t, st, domain.StatusCancelled)
	if st.JoinedTo != "r0" || len(h.storeRuns) != 0 {
		t.Errorf("joined %q, store runs %v; want joined r0 and no store touched", st.JoinedTo, h.storeRuns)
	}
}

func TestDeadlineAlertAtThreeQuartersOfTheTime(t *testing.T) {
	h := newHarness(t, domain.TypeCorrect)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	alertAt := domain.AlertAt(start, h.in.DueAt)
	h.at(alertAt.Sub(start)+time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: analyst, Reason: ""})
	h.run()
	if len(h.alerts) != 1 || h.alerts[0].Before(alertAt) {
		t.Errorf("alerts at %v, want one at or after %s", h.alerts, alertAt)
	}
}

func TestFailingStoreWaitsForAStaffRetryOfThatStoreAlone(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.storeFails["shop"] = 1
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	wrongStore := h.at(time.Hour, workflows.UpdateRetryStore, workflows.RetryStoreInput{Actor: analyst, Store: "crm"})
	retry := h.at(2*time.Hour, workflows.UpdateRetryStore, workflows.RetryStoreInput{Actor: analyst, Store: "shop"})
	st := h.run()
	wantStatus(t, st, domain.StatusCompleted)
	if wrongStore.rejected == nil || retry.rejected != nil {
		t.Errorf("retry of healthy store rejected=%v, of failed store rejected=%v", wrongStore.rejected, retry.rejected)
	}
	// The first two run in parallel, in either order; the retry runs shop alone.
	first := slices.Sorted(slices.Values(h.storeRuns[:min(2, len(h.storeRuns))]))
	if len(h.storeRuns) != 3 || !slices.Equal(first, []string{"crm", "shop"}) || h.storeRuns[2] != "shop" {
		t.Errorf("store runs = %v, want crm and shop, then shop alone", h.storeRuns)
	}
	if !slices.Contains(h.statuses(), domain.StatusNeedsAttention) {
		t.Errorf("statuses %v never reached needs_attention", h.statuses())
	}
}

// A store that fails in a way another try may cure is run again on its own, with backoff,
// up to storeRetry's attempts; only then does a person have to act.
func TestStoreThatFailsForAWhileIsRetriedAloneBeforeStaffAreAsked(t *testing.T) {
	t.Run("recovers on the third try", func(t *testing.T) {
		h := newHarness(t, domain.TypeRestrict)
		h.storeFlaky["shop"] = 2
		h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
		st := h.run()
		wantStatus(t, st, domain.StatusCompleted)
		if runs := slices.Sorted(slices.Values(h.storeRuns)); !slices.Equal(runs, []string{"crm", "shop", "shop", "shop"}) {
			t.Errorf("store runs = %v, want crm once and shop three times", h.storeRuns)
		}
		if slices.Contains(h.statuses(), domain.StatusNeedsAttention) {
			t.Errorf("statuses %v: a store that recovered on its own needed attention", h.statuses())
		}
	})
	t.Run("still failing after five tries", func(t *testing.T) {
		h := newHarness(t, domain.TypeRestrict)
		h.storeFlaky["shop"] = 5
		h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
		h.at(time.Hour, workflows.UpdateRetryStore, workflows.RetryStoreInput{Actor: analyst, Store: "shop"})
		st := h.run()
		wantStatus(t, st, domain.StatusCompleted)
		if n := len(slices.DeleteFunc(slices.Clone(h.storeRuns), func(s string) bool { return s != "shop" })); n != 6 {
			t.Errorf("shop ran %d times, want 5 tries and the staff retry", n)
		}
		if !slices.Contains(h.statuses(), domain.StatusNeedsAttention) {
			t.Errorf("statuses %v never reached needs_attention", h.statuses())
		}
	})
}

func TestNotesAndAssignmentAreRecorded(t *testing.T) {
	h := newHarness(t, domain.TypeCorrect)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(time.Hour, workflows.UpdateAssign, workflows.AssignInput{Actor: analyst, Assignee: "bob"})
	h.at(2*time.Hour, workflows.UpdateAddNote, workflows.AddNoteInput{Actor: analyst, Text: "asked for proof of address"})
	h.at(3*time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: second, Reason: ""})
	st := h.run()
	if st.Assignee != "bob" || len(st.Notes) != 1 || st.Notes[0].Author != "ana" {
		t.Errorf("assignee %q, notes %+v", st.Assignee, st.Notes)
	}
	for i, s := range h.steps {
		if s.Seq != int64(i+1) {
			t.Fatalf("step %d has seq %d: audit steps must be gapless and ordered", i, s.Seq)
		}
	}
}

func TestRequestWorkflowIDCarriesNoPersonalData(t *testing.T) {
	if got := workflows.RequestID("6f1c"); got != "dsr-6f1c" {
		t.Errorf("RequestID = %q", got)
	}
}

// The mail can reach the requester before the activity that sent it reports back; a code
// typed in that moment must be checked against the new challenge, not the old one.
func TestCodeTypedWhileItIsBeingIssuedIsCheckedAgainstIt(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.distinctCodes, h.issueDelay = true, 500*time.Millisecond
	h.at(2*time.Minute, workflows.UpdateResendCode)
	early := h.at(2*time.Minute+time.Millisecond, workflows.UpdateVerifyEmail, verify("000002"))
	st := h.run()
	if r, _ := early.result.(workflows.VerifyEmailResult); r.Result != domain.CheckConfirmed {
		t.Fatalf("new code typed during issuing = %+v (rejected %v, err %v), want confirmed", early.result, early.rejected, early.err)
	}
	wantStatus(t, st, domain.StatusCompleted)
}

func TestCorrectionIsPassedOnToRecipientsOfTheStoresThatHeldData(t *testing.T) {
	h := newHarness(t, domain.TypeCorrect)
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(time.Hour, workflows.UpdateApprove, workflows.ApproveInput{Actor: analyst, Reason: ""})
	st := h.run()
	if !slices.Equal(h.recipientStores, []string{"crm", "shop"}) || len(st.Recipients) != 1 || st.Recipients[0].Name != "Affiliate AS" {
		t.Errorf("recipients asked of %v, told %+v", h.recipientStores, st.Recipients)
	}
}

func TestReviewTellsNoRecipients(t *testing.T) {
	h := newHarness(t, domain.TypeReview)
	h.matched = 2
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(time.Hour, workflows.UpdateSubmitIdentity, workflows.SubmitIdentityInput{Answers: map[string]string{"postal_code": "x"}})
	if st := h.run(); len(st.Recipients) != 0 || h.recipientStores != nil {
		t.Errorf("a review told recipients: %+v", st.Recipients)
	}
}

func TestStoreThatAnswersLaterCompletesTheRequestWhenItsResultArrives(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.later["shop"], h.later["crm"] = true, true
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	answer := func(store string) workflows.StoreResultInput {
		return workflows.StoreResultInput{Store: store, Result: connector.Result{Changed: []string{"marketing_email"}}, Actor: workflows.Actor{Role: domain.RoleSystem}}
	}
	h.at(2*time.Hour, workflows.UpdateStoreResult, answer("shop"))
	repeat := h.at(2*time.Hour+time.Second, workflows.UpdateStoreResult, answer("shop"))
	unknown := h.at(2*time.Hour+2*time.Second, workflows.UpdateStoreResult, answer("nope"))
	h.at(3*time.Hour, workflows.UpdateStoreResult, answer("crm"))
	st := h.run()
	wantStatus(t, st, domain.StatusCompleted)
	if !slices.Contains(h.statuses(), domain.StatusAwaitingManualTasks) {
		t.Errorf("statuses %v never waited for the stores", h.statuses())
	}
	if !slices.Equal(h.recorded, []string{"shop", "crm"}) || repeat.rejected != nil || repeat.err != nil {
		t.Errorf("late results recorded %v (want shop once, then crm); repeat %+v", h.recorded, repeat)
	}
	if unknown.rejected == nil {
		t.Error("a result for a store the request does not use was accepted")
	}
}

func TestStoreThatNeverAnswersNeedsAttentionAfterTheWindow(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.later["shop"] = true
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	var seen workflows.RequestState
	h.env.RegisterDelayedCallback(func() {
		v, _ := h.env.QueryWorkflow(workflows.QueryState)
		v.Get(&seen)
	}, workflows.StoreAnswerWindow+time.Hour)
	h.at(workflows.StoreAnswerWindow+2*time.Hour, workflows.UpdateCancel, workflows.CancelInput{Actor: analyst, Reason: "processor unreachable"})
	wantStatus(t, h.run(), domain.StatusCancelled)
	if seen.Status != domain.StatusNeedsAttention || seen.Stores[1].Error == "" {
		t.Errorf("after the window: %s, stores %+v", seen.Status, seen.Stores)
	}
}

// Every step writes the mailbox and identity progress to the row, and the step that marks
// stores failed writes each one's error there for staff.
func TestStepsWriteProgressAndFailedStoresToTheRow(t *testing.T) {
	h := newHarness(t, domain.TypeRestrict)
	h.storeFails["shop"] = 1
	h.at(time.Minute, workflows.UpdateVerifyEmail, verify(goodCode))
	h.at(2*time.Hour, workflows.UpdateRetryStore, workflows.RetryStoreInput{Actor: analyst, Store: "shop"})
	wantStatus(t, h.run(), domain.StatusCompleted)
	var failed map[string]string
	for _, s := range h.steps {
		if s.Patch.Progress == nil {
			t.Fatalf("step %s wrote no progress", s.Action)
		}
		if s.Action == "stores_failed" {
			failed = s.Patch.FailedStores
		}
	}
	if len(failed) != 1 || !strings.HasPrefix(failed["shop"], "connection refused") {
		t.Errorf("failed stores written = %v, want shop's error alone", failed)
	}
	first, last := h.steps[0].Patch.Progress, h.steps[len(h.steps)-1].Patch.Progress
	if first.EmailVerified || !last.EmailVerified || !last.IdentityVerified || last.IdentityMethod != "mailbox" {
		t.Errorf("progress first %+v, last %+v; want the mailbox proven by the end", first, last)
	}
}
