package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
	"github.com/dsr-project/dsr/workflows"
)

// demoStack is the stack with the demo company's SQL stores, and the demo's data map.
func demoStack(t *testing.T) (*stack, *datamap.Map) {
	t.Helper()
	ctx := context.Background()
	m, err := demo.Setup(ctx, "sqlite:"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stores, closeStores, err := sqlstore.OpenAll(ctx, m, sqlstore.WithHashKey([]byte("plan-test-hash-key-of-32-bytes!!")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStores() })
	return startStack(t, func(o *api.Options, a *activities.Activities) { o.DataMaps, a.Stores = []*datamap.Map{m}, stores }), m
}

// plannedSteps maps each store to the digests its store_planned events record, in order.
func plannedSteps(t *testing.T, s *stack, requestID string) map[string][]string {
	t.Helper()
	events, err := s.requests.AuditEvents(context.Background(), requestID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, e := range events {
		if e.Action != "store_planned" {
			continue
		}
		var details []string
		if err := json.Unmarshal([]byte(e.Details), &details); err != nil || len(details) != 2 {
			t.Fatalf("store_planned details = %s, %v", e.Details, err)
		}
		out[details[0]] = append(out[details[0]], strings.TrimPrefix(details[1], "sha256:"))
	}
	return out
}

// The plan hash in the audit chain matches the sealed plan: every SQL store's plan is kept
// sealed, its digest is that of the plan's JSON, and a store_planned event records it.
func TestEveryStorePlanIsSealedAndItsDigestIsInTheAuditChain(t *testing.T) {
	s, _ := demoStack(t)
	ada := demo.Ada()
	req := s.open(fmt.Sprintf(`{"type":"restrict","email":%q,"jurisdiction":"gdpr","details":{"limits":["marketing_email"]}}`, ada.Email))
	s.verify(req, ada.Email)
	s.awaitRequesterStatus(req, domain.StatusCompleted)

	plans, err := s.requests.StorePlans(context.Background(), req.ID)
	if err != nil {
		t.Fatal(err)
	}
	chained := plannedSteps(t, s, req.ID)
	if len(plans) == 0 || len(plans) != len(chained) {
		t.Fatalf("plans %d, chained %v: want one chained digest per plan", len(plans), chained)
	}
	// The requester's report says, store by store in their words, that the change was planned.
	var report api.Report
	s.must(http.StatusOK, http.MethodGet, "/api/v1/requests/"+req.ID+"/report", "", req.StatusToken, &report)
	if len(report.Planned) != len(plans) || !slices.Contains(report.Planned, "Newsletters: we worked out beforehand which 2 records to change, and changed exactly those.") {
		t.Errorf("report's planned sentences = %q, want one per store by its label", report.Planned)
	}
	for _, p := range report.Planned {
		if strings.Contains(p, "accounts:") || strings.Contains(p, "newsletter:") || strings.Contains(p, "profiles") {
			t.Errorf("the report names an internal store or table: %q", p)
		}
	}
	for _, p := range plans {
		raw, err := json.Marshal(p.Plan)
		if err != nil {
			t.Fatal(err)
		}
		if got := requestdb.PlanDigest(raw); got != p.SHA256 || !slices.Equal(chained[p.Store], []string{p.SHA256}) {
			t.Errorf("store %s: digest of the plan %s, kept %s, chained %v", p.Store, got, p.SHA256, chained[p.Store])
		}
	}

	// The evidence bundle carries the plans, and its verifier finds each digest in the chain.
	auditor := s.token("Audrey Tor", auth.RoleAuditor)
	a := s.do(http.MethodGet, "/api/v1/audit/requests/"+req.ID+"/evidence", "", auditor)
	if a.code != http.StatusOK {
		t.Fatalf("evidence = %d %s", a.code, a.body)
	}
	rep, err := audit.VerifyBundle([]byte(a.body), nil)
	if err != nil || rep.Plans != len(plans) || len(rep.UnchainedPlans) > 0 {
		t.Errorf("bundle report %+v, %v; want all %d plans chained", rep, err, len(plans))
	}
}

// A correction waits for approval, planned; a row changed meanwhile stops its store in
// needs_attention without changing anything there, and a staff retry plans afresh.
func TestARowChangedAfterThePlanStopsItsStoreUntilStaffRetry(t *testing.T) {
	s, m := demoStack(t)
	ctx := context.Background()
	analyst := s.token("Ana Lyst", auth.RoleAnalyst)
	frank := demo.DemoPeople()[slices.IndexFunc(demo.DemoPeople(), func(p demo.DemoPerson) bool { return p.Email == "frank@example.com" })]
	req := s.open(fmt.Sprintf(`{"type":"correct","email":%q,"jurisdiction":"gdpr","details":{"changes":[{"field":"company","value":"Planned Ltd"}]}}`, frank.Email))
	s.verify(req, frank.Email)
	s.awaitStaffStatus(req.ID, analyst, domain.StatusPendingReview)
	before, found, err := s.requests.StorePlan(ctx, req.ID, "accounts")
	if err != nil || !found {
		t.Fatalf("accounts was not planned before the review: %v", err)
	}
	if digests := plannedSteps(t, s, req.ID)["accounts"]; !slices.Equal(digests, []string{before.SHA256}) {
		t.Fatalf("chained digests of accounts before approval = %v, want %s", digests, before.SHA256)
	}
	// The staff API shows the plan before approval, as the page does, without row keys.
	var staff api.StaffView
	s.must(http.StatusOK, http.MethodGet, "/api/v1/admin/requests/"+req.ID, "", analyst, &staff)
	i := slices.IndexFunc(staff.Plans, func(p requestdb.SealedPlan) bool { return p.Store == "accounts" })
	if i < 0 || staff.Plans[i].SHA256 != before.SHA256 || len(staff.Plans[i].Plan.Tables) != 1 ||
		staff.Plans[i].Plan.Tables[0].Updated != 1 || staff.Plans[i].Plan.Tables[0].Rows != nil {
		t.Errorf("staff view plans = %+v, want the accounts plan without row keys", staff.Plans)
	}

	accounts := m.Stores[slices.IndexFunc(m.Stores, func(st datamap.Store) bool { return st.Name == "accounts" })]
	db, err := sqlstore.OpenDB(ctx, accounts.Connection)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `UPDATE profiles SET occupation = 'Changed meanwhile' WHERE email = ?`, frank.Email); err != nil {
		t.Fatal(err)
	}
	company := func() string {
		var c string
		if err := db.QueryRowContext(ctx, `SELECT company FROM profiles WHERE email = ?`, frank.Email).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	was := company()

	s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/approve", `{"reason":"checked"}`, analyst, nil)
	view := s.awaitStaffStatus(req.ID, analyst, domain.StatusNeedsAttention)
	i = slices.IndexFunc(view.Stores, func(o requests.StoreView) bool { return o.Store == "accounts" })
	if i < 0 || view.Stores[i].State != requestdb.StoreFailed || !strings.Contains(view.Stores[i].Error, "profiles: 1 changed") ||
		strings.Contains(view.Stores[i].Error, "Changed meanwhile") {
		t.Fatalf("stores = %+v, want accounts stopped with the difference and no value", view.Stores)
	}
	if got := company(); got != was {
		t.Errorf("company = %q after the refused apply, want %q unchanged", got, was)
	}

	s.must(http.StatusOK, http.MethodPost, "/api/v1/admin/requests/"+req.ID+"/retry", `{"store":"accounts"}`, analyst, nil)
	s.awaitStaffStatus(req.ID, analyst, domain.StatusCompleted)
	if got := company(); got != "Planned Ltd" {
		t.Errorf("company = %q after the retry, want the correction", got)
	}
	if digests := plannedSteps(t, s, req.ID)["accounts"]; len(digests) != 2 || digests[1] == before.SHA256 {
		t.Errorf("chained digests of accounts = %v, want the first plan and a fresh one", digests)
	}
	if f := os.Getenv("RECORD_TO"); f != "" {
		recordHistory(t, s, req.ID, f)
	}
}

// recordHistory saves the request's workflow history as JSON, for the replay test of
// workflows (testdata/request-correct-planned-stale.json is recorded by running
// TestARowChangedAfterThePlanStopsItsStoreUntilStaffRetry with RECORD_TO set to it).
func recordHistory(t *testing.T, s *stack, requestID, file string) {
	it := s.temporal.GetWorkflowHistory(context.Background(), workflows.RequestID(requestID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
